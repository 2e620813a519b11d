import EnclavaCrypto
import Foundation

extension SimulatedPlatform {
    /// The evidence format a simulated enclave produces (`enclava serve --backend sim --sim-format …`).
    /// Each one is the hardware format byte for byte, signed under the simulated hierarchy, so the same
    /// verifier path runs as on hardware:
    ///
    /// | format | evidence | measurement field | value in simulation |
    /// |---|---|---|---|
    /// | `snp` | SEV-SNP report v3, VCEK ← ASK ← ARK | `MEASUREMENT` (48 B) | SHA-384 of the runtime executable |
    /// | `tdx` | TDX quote v4, PCK chain to the simulated Intel root | `MRTD` (48 B) + RTMR0–2 | MRTD: the fixed simulated firmware; RTMR1: the SHA-384 of the runtime executable (``SimulatedTDXRegisters``) |
    /// | `sgx` | SGX DCAP quote v3, PCK chain to the simulated Intel root | `MRENCLAVE` (32 B) | **SHA-256** of the runtime executable |
    ///
    /// Simulated sealing keys are bound to the SHA-384 of the runtime whatever the format, so an image
    /// packaged with `--seal-for sim` starts under every format.
    public enum EvidenceFormat: String, Sendable, CaseIterable, Codable {
        /// AMD SEV-SNP attestation report (the default).
        case snp
        /// Intel TDX quote v4.
        case tdx
        /// Intel SGX DCAP quote v3.
        case sgx

        /// Parses a `--sim-format` value.
        /// - Throws: ``SimulatedPlatformError`` `invalidArgument` naming the accepted values.
        public init(parsing text: String) throws {
            let name = text.lowercased() == "sev-snp" ? "snp" : text.lowercased()   // one concept, both spellings
            guard let format = EvidenceFormat(rawValue: name) else {
                throw SimulatedPlatformError(
                    .invalidArgument, "simulation format `\(text)` is not one of "
                        + Self.allCases.map(\.rawValue).joined(separator: ", "))
            }
            self = format
        }

        /// The evidence platform this format's evidence claims.
        public var platform: EvidencePlatform {
            switch self {
            case .snp: .sevSNP
            case .tdx: .tdx
            case .sgx: .sgx
            }
        }

        /// The digest of the runtime executable that this format measures (tdx: into RTMR1).
        public var measurementDigest: DigestAlgorithm { self == .sgx ? .sha256 : .sha384 }

        /// The name of the measurement field in this format's evidence.
        public var measurementField: String {
            switch self {
            case .snp: "MEASUREMENT"
            case .tdx: "MRTD"
            case .sgx: "MRENCLAVE"
            }
        }

        /// The measurement a simulated enclave running `executable` reports in this format (what a policy's
        /// `expected_measurements` must pin): SNP MEASUREMENT and SGX MRENCLAVE are the runtime's digest; TDX MRTD
        /// is the fixed simulated firmware (the runtime is in RTMR1, ``tdxRegisters(ofExecutableAt:)``).
        /// - Throws: ``SimulatedPlatformError`` `invalidArgument` when the file cannot be read.
        public func measurement(ofExecutableAt executable: String) throws -> [UInt8] {
            if self == .tdx { return try tdxRegisters(ofExecutableAt: executable).mrTD }
            return try Self.digest(measurementDigest, executable)
        }

        /// The registers a simulated TD running `executable` reports.
        /// - Throws: ``SimulatedPlatformError`` `invalidArgument` when the file cannot be read.
        public func tdxRegisters(ofExecutableAt executable: String) throws -> SimulatedTDXRegisters {
            SimulatedTDXRegisters(runtimeDigest: try Self.digest(.sha384, executable))
        }

        /// Pins what a simulated enclave running `executable` reports in this format: `expected_measurements`,
        /// and for tdx MRTD and RTMR0–2 as a TDX session policy must.
        /// - Throws: ``SimulatedPlatformError`` `invalidArgument` when the file cannot be read.
        public func pin(runtimeAt executable: String, in policy: inout AttestationPolicy) throws {
            if self == .tdx {
                try tdxRegisters(ofExecutableAt: executable).pin(in: &policy)
            } else {
                policy.expectedMeasurements = [Hex.encode(try measurement(ofExecutableAt: executable))]
            }
        }

        private static func digest(_ algorithm: DigestAlgorithm, _ executable: String) throws -> [UInt8] {
            do {
                return try SHA2.hashFile(algorithm, path: executable)
            } catch {
                throw SimulatedPlatformError(.invalidArgument, "cannot measure \(executable): \(error)")
            }
        }
    }

    /// The roots of the simulated hierarchies in this home: the ARK, and the Intel root when the Intel
    /// part exists (it is created on first use of `--sim-format tdx|sgx`). A verifier that trusts the local
    /// simulator passes these as `EvidenceVerifier(simulatedRoots:)`.
    public func simulatedRoots() -> [Certificate] {
        [ark] + ((try? SimulatedIntelPlatform.load(home: home)).map { [$0.root] } ?? [])
    }

    /// The fingerprint (SHA-256, hex) of the simulated root that evidence in `format` chains to, creating
    /// the Intel part of an older home when needed; for a policy's `simulated_root_fingerprints`.
    /// - Throws: ``SimulatedPlatformError`` if the Intel part cannot be loaded or created.
    public func rootFingerprint(for format: EvidenceFormat) throws -> String {
        switch format {
        case .snp: Hex.encode(ark.sha256Fingerprint)
        case .tdx, .sgx: Hex.encode(try SimulatedIntelPlatform.loadOrCreate(home: home).root.sha256Fingerprint)
        }
    }
}
