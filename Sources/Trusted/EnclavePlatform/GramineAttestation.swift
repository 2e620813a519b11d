import EnclavaAttestation
import EnclavaCrypto
import Synchronization

/// Gramine's attestation pseudo-files (`/dev/attestation`, Gramine ≥ 1.0) inside an SGX enclave:
/// `attestation_type`, `user_report_data` + `quote`, and the sealing keys under `keys/`.
public final class GramineAttestation: Sendable {
    /// Where Gramine mounts the pseudo-files.
    public static let defaultRoot = "/dev/attestation"
    /// A sealing key file's size (an SGX EGETKEY key is 128 bits).
    public static let sealingKeyByteCount = 16

    /// Which SGX sealing key.
    public enum SealingKey: String, Sendable, CaseIterable {
        /// `_sgx_mrenclave`: bound to this exact enclave (MRENCLAVE).
        case mrenclave = "_sgx_mrenclave"
        /// `_sgx_mrsigner`: shared by every enclave of the same signer (MRSIGNER), e.g. across upgrades.
        case mrsigner = "_sgx_mrsigner"
    }

    /// The pseudo-file directory.
    public let root: String
    let files: any PlatformFileSystem
    /// `user_report_data` then `quote` is one process-wide exchange: requests take turns.
    private let exchange = Mutex<Void>(())

    /// A client of the pseudo-files under `root`.
    public convenience init(root: String = GramineAttestation.defaultRoot) {
        self.init(root: root, files: POSIXFileSystem())
    }

    init(root: String, files: any PlatformFileSystem) {
        self.root = root
        self.files = files
    }

    /// True when `attestation_type` exists (we run under Gramine with its attestation interface).
    public var isPresent: Bool { files.exists(atPath: root + "/attestation_type") }

    /// `attestation_type`: `none`, `epid` or `dcap`.
    /// - Throws: ``PlatformError`` `.unavailable` outside Gramine.
    public func attestationType() throws -> String {
        let path = root + "/attestation_type"
        do {
            let bytes = try files.read(atPath: path, maxBytes: 32)
            guard bytes.count <= 32 else { throw PlatformError(.unavailable, "\(path) is too long; this is not Gramine") }
            return ConfigFSTSM.trimmedText(bytes)
        } catch let error as SystemCallError {
            throw PlatformError(.unavailable, "\(error): not running under Gramine with attestation; run the runtime "
                + "with `gramine-sgx` and set `sgx.remote_attestation = \"dcap\"` in its manifest, or use --backend sim")
        }
    }

    /// Writes `reportData` to `user_report_data` and reads the `quote` Gramine makes over it.
    /// - Throws: ``PlatformError``: `.invalidReportData`, `.evidenceFailed` (Gramine or the quoting
    ///   enclave failed), `.invalidEvidence` (empty or oversized quote).
    public func quote(reportData: [UInt8]) throws -> [UInt8] {
        try PlatformSupport.checkReportData(reportData)
        return try exchange.withLock { _ in
            do {
                try files.write(reportData, atPath: root + "/user_report_data")
            } catch {
                throw PlatformError(.evidenceFailed, "\(error): Gramine refused the report data; check its log")
            }
            let quote: [UInt8]
            do {
                quote = try files.read(atPath: root + "/quote", maxBytes: SGXQuote.maxByteCount)
            } catch {
                throw PlatformError(.evidenceFailed, "\(error): Gramine could not produce a quote; check that the host "
                    + "runs the DCAP quoting enclave (aesmd or the PCCS-backed quote provider) and Gramine's log")
            }
            guard !quote.isEmpty, quote.count <= SGXQuote.maxByteCount else {
                throw PlatformError(.invalidEvidence, "\(root)/quote returned \(quote.count) bytes, not a quote "
                    + "(1…\(SGXQuote.maxByteCount) bytes)")
            }
            return quote
        }
    }

    /// The 16-byte SGX sealing key `key` (EGETKEY through Gramine).
    /// - Throws: ``PlatformError`` `.sealingFailed` when the file is missing or not 16 bytes.
    public func sealingKey(_ key: SealingKey) throws -> SecureBytes {
        let path = root + "/keys/" + key.rawValue
        let secret: SecureBytes
        do {
            secret = try files.readSecret(atPath: path, maxBytes: Self.sealingKeyByteCount)
        } catch {
            throw PlatformError(.sealingFailed, "\(error): Gramine's \(key.rawValue) sealing key is not available; "
                + "it needs Gramine ≥ 1.4 running on SGX (not gramine-direct)")
        }
        guard secret.count == Self.sealingKeyByteCount else {
            throw PlatformError(.sealingFailed, "\(path) holds \(secret.count) bytes; an SGX sealing key has "
                + "\(Self.sealingKeyByteCount)")
        }
        return secret
    }
}
