import EnclavaAttestation
import EnclavaCrypto

/// Helpers the hardware backends share.
extension PlatformSupport {
    /// Refuses evidence whose report data is not the one requested: another writer's request interleaved,
    /// or the interface answered for someone else.
    static func checkEchoed(reportData actual: [UInt8], requested: [UInt8], what: String) throws {
        guard actual == requested else {
            throw PlatformError(.invalidEvidence, "the \(what) carries report data \(Hex.encode(Array(actual.prefix(8))))…, "
                + "not the \(Hex.encode(Array(requested.prefix(8))))… requested; another request interleaved or the "
                + "attestation interface is faulty")
        }
    }

    /// A 32-byte key for `purpose` from a hardware key: `HKDF-SHA384(ikm: hardwareKey, salt, info: purpose ‖ binding)`.
    static func purposeKey(from hardwareKey: SecureBytes, salt: String, purpose: String, binding: [UInt8]) throws -> SecureBytes {
        guard !purpose.isEmpty else { throw PlatformError(.sealingFailed, "a sealing key needs a non-empty purpose") }
        do {
            return try HKDF.deriveKey(.sha384, ikm: hardwareKey, salt: Array(salt.utf8), info: Array(purpose.utf8) + binding,
                                      length: 32)
        } catch {
            throw PlatformError(.sealingFailed, "cannot derive the sealing key for `\(purpose)`: \(error)")
        }
    }

    /// The quote at the start of `blob`: trailing bytes after `byteCount` are accepted only when they are
    /// zero padding.
    static func trimmedQuote(_ blob: [UInt8], byteCount: Int, what: String) throws -> [UInt8] {
        guard blob.count > byteCount else { return blob }
        guard blob[byteCount...].allSatisfy({ $0 == 0 }) else {
            throw PlatformError(.invalidEvidence, "the \(what) has \(blob.count - byteCount) bytes after its end "
                + "(\(byteCount) bytes) that are not zero padding; refusing it")
        }
        return Array(blob[..<byteCount])
    }

    /// The DER certificates of a PEM chain file (leaf first).
    static func certificateChain(path: String) throws -> [[UInt8]] {
        let bytes: [UInt8]
        do {
            bytes = try POSIXFileSystem().read(atPath: path, maxBytes: 1 << 20)
        } catch {
            throw PlatformError(.unavailable, "cannot read the certificate chain \(path): \(error)")
        }
        do {
            let chain = try Certificate.parseChain(pem: String(decoding: bytes, as: UTF8.self))
            guard !chain.isEmpty, bytes.count <= 1 << 20 else {
                throw PlatformError(.unavailable, "\(path) holds no PEM certificates (or more than 1 MiB); give the "
                    + "VCEK (or VLEK), ASK and ARK in PEM, leaf first")
            }
            return chain.map(\.derRepresentation)
        } catch let error as PlatformError {
            throw error
        } catch {
            throw PlatformError(.unavailable, "\(path) is not a PEM certificate chain: \(error)")
        }
    }
}
