internal import CEnclaveEdge
import EnclavaAttestation
import EnclaveRuntime

/// The host's `enclava_enclave_options`, checked field by field (hostile until then).
struct EdgeOptions {
    let imageSize: UInt64
    let maxConnections: Int
    let simFormat: SimulatedPlatform.EvidenceFormat
    let simHome: String
    let signerFingerprint: String?
    let allowUnlockedMemory: Bool

    /// - Throws: ``InProcessEnclave/Failure`` naming the field and its allowed values.
    init(_ options: enclava_enclave_options) throws(InProcessEnclave.Failure) {
        func refuse(_ message: String, status: enclava_edge_status = ENCLAVA_EDGE_INVALID_ARGUMENT) -> InProcessEnclave.Failure {
            InProcessEnclave.Failure(status: status, message: message)
        }
        guard options.abi_version == ENCLAVA_ENCLAVE_ABI_VERSION else {
            throw refuse("the host speaks enclave ABI version \(options.abi_version), this library "
                         + "version \(ENCLAVA_ENCLAVE_ABI_VERSION); use the library built with the host's enclava", status: ENCLAVA_EDGE_WRONG_ABI)
        }
        guard options.flags & ~ENCLAVA_ENCLAVE_ALLOW_UNLOCKED_MEMORY == 0 else {
            throw refuse("unknown option flags 0x\(String(options.flags, radix: 16))")
        }
        guard options.image_size > 0, options.image_size <= ENCLAVA_ENCLAVE_MAX_IMAGE_BYTES else {
            throw refuse("the image size must be 1…\(ENCLAVA_ENCLAVE_MAX_IMAGE_BYTES) bytes, got \(options.image_size)", status: ENCLAVA_EDGE_TOO_LARGE)
        }
        guard (1...ENCLAVA_ENCLAVE_MAX_CONNECTIONS).contains(options.max_connections) else {
            throw refuse("max_connections must be 1…\(ENCLAVA_ENCLAVE_MAX_CONNECTIONS), got \(options.max_connections)")
        }
        let formats: [SimulatedPlatform.EvidenceFormat] = [.snp, .tdx, .sgx]
        guard options.sim_format < formats.count else {
            throw refuse("sim_format must be 0 (snp), 1 (tdx) or 2 (sgx), got \(options.sim_format)")
        }
        guard let home = Self.string(options.sim_home), !home.isEmpty else {
            throw refuse("sim_home must be a NUL-terminated UTF-8 path of at most \(ENCLAVA_ENCLAVE_MAX_OPTION_BYTES - 1) bytes")
        }
        var fingerprint: String?
        if options.signer_fingerprint != nil {
            guard let text = Self.string(options.signer_fingerprint) else {
                throw refuse("signer_fingerprint must be NULL or 64 hex digits, NUL-terminated")
            }
            do {
                fingerprint = try RuntimeOptions.parseSignerFingerprint(text)
            } catch let error as RuntimeError {
                throw refuse(error.message)
            } catch {
                throw refuse("signer_fingerprint: \(error)")
            }
        }
        self.imageSize = options.image_size
        self.maxConnections = Int(options.max_connections)
        self.simFormat = formats[Int(options.sim_format)]
        self.simHome = home
        self.signerFingerprint = fingerprint
        self.allowUnlockedMemory = options.flags & ENCLAVA_ENCLAVE_ALLOW_UNLOCKED_MEMORY != 0
    }

    /// A host string, read no further than the option cap (a missing terminator is refused, not overrun).
    private static func string(_ pointer: UnsafePointer<CChar>?) -> String? {
        guard let pointer else { return nil }
        let cap = Int(ENCLAVA_ENCLAVE_MAX_OPTION_BYTES)
        guard let length = (0..<cap).first(where: { pointer[$0] == 0 }) else { return nil }
        let bytes = UnsafeRawBufferPointer(start: pointer, count: length)
        return String(validating: bytes, as: UTF8.self)
    }
}
