import EnclavaAttestation
import EnclavaCrypto
import EnclaveSealing

/// What the enclave runtime needs from the TEE it runs in, whatever the backend (DESIGN.md §3):
/// its own measurement, signed evidence over 64 bytes of report data, and sealing keys bound to it.
///
/// One conforming type per backend, each in its own `Platform+<Backend>.swift` file; its sealed-state key
/// (``SealedStateKeySource``, sealed restart) in `SealedStateKey+<Backend>.swift`.
public protocol TEEPlatform: SealedStateKeySource {
    /// The backend name as the CLI spells it (`sim`, `sev-snp`, `tdx`, `sgx`, `trustzone`).
    var backend: String { get }
    /// The enclave's launch measurement as the evidence reports it (SEV-SNP MEASUREMENT and TDX MRTD:
    /// 48 bytes; SGX MRENCLAVE: 32 bytes).
    var measurement: [UInt8] { get }
    /// True when no hardware protects this enclave (the simulation backend).
    var isSimulated: Bool { get }
    /// Evidence whose report data is `reportData` (exactly 64 bytes, see ``ReportData``).
    /// - Throws: ``PlatformError`` if the report data has the wrong size or the platform fails.
    func evidence(reportData: [UInt8]) throws -> Evidence
    /// A key bound to this enclave's measurement on this platform, for `purpose`.
    func sealingKey(purpose: String) throws -> SecureBytes
}

/// A failure of the platform layer, with a stable code and a sentence that says what to do.
public struct PlatformError: Error, CustomStringConvertible, Sendable {
    /// Stable error codes.
    public enum Code: String, Sendable {
        /// The report data passed in is not 64 bytes.
        case invalidReportData = "INVALID_REPORT_DATA"
        /// The enclave's own executable cannot be measured.
        case measurementFailed = "MEASUREMENT_FAILED"
        /// The platform could not produce evidence.
        case evidenceFailed = "EVIDENCE_FAILED"
        /// The platform could not derive a sealing key.
        case sealingFailed = "SEALING_FAILED"
        /// The platform is not available (not initialised, no device, no permission, wrong TEE).
        case unavailable = "PLATFORM_UNAVAILABLE"
        /// The platform answered with evidence that is malformed (short or oversized blob, a report
        /// that does not parse or does not carry the report data asked for, a damaged certificate table).
        case invalidEvidence = "INVALID_EVIDENCE"
        /// Another writer changed the configfs-tsm report entry while this one was being produced, on
        /// every attempt (its `generation` did not match).
        case conflict = "REPORT_CONFLICT"
        /// The platform is busy or throttled and stayed so after the bounded retries.
        case busy = "PLATFORM_BUSY"
        /// The platform has no hardware sealing key (TDX) and none was provisioned.
        case sealingUnsupported = "SEALING_UNSUPPORTED"
    }

    /// The stable code.
    public let code: Code
    /// A sentence naming the problem and what to do.
    public let message: String
    /// Where the error was raised, for us.
    public let fileID: String
    /// Where the error was raised, for us.
    public let line: Int

    init(_ code: Code, _ message: String, fileID: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.fileID = fileID
        self.line = line
    }

    /// `CODE: message`.
    public var description: String { "\(code.rawValue): \(message)" }
}

/// Helpers shared by the backends.
enum PlatformSupport {
    /// SHA-384 of an executable file, streamed.
    static func measureExecutable(at path: String) throws -> [UInt8] {
        do {
            return try SHA2.hashFile(.sha384, path: path)
        } catch {
            throw PlatformError(.measurementFailed, "cannot measure the runtime executable \(path): \(error)")
        }
    }

    /// Refuses report data that is not exactly 64 bytes (no silent padding or truncation).
    static func checkReportData(_ reportData: [UInt8]) throws {
        guard reportData.count == ReportData.byteCount else {
            throw PlatformError(
                .invalidReportData, "report data must be \(ReportData.byteCount) bytes, got \(reportData.count)")
        }
    }
}
