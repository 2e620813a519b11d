/// How an image's data-encryption key (DEK) travels to a verified enclave (DESIGN.md §7), shared by the
/// owner (`enclava provision`), the key broker and the enclave so that the three cannot drift apart.
///
/// The DEK is sealed with HPKE (X25519, HKDF-SHA256, AES-256-GCM, base mode) to the X25519 key bound in the
/// enclave's verified evidence (`report_data[32:64]`). HPKE `info` = the purpose label ‖ SHA-384(evidence
/// blob), so a sealed key opens only for the evidence it was made for; the AEAD's AAD is the image's manifest
/// digest, so it opens only for that image. The owner's and the broker's purposes differ, so an answer made
/// for one flow never opens in the other.
public enum KeyReleaseSealing {
    /// Which flow a sealed key belongs to.
    public enum Purpose: String, Sendable, CaseIterable {
        /// `ProvisionKey` from the owner (`enclava provision`), sealed to the enclave's session key.
        case ownerProvision = "enclava/v1 owner provision"
        /// A key broker's answer, sealed to the fresh key the enclave bound in its attestation.
        case brokerRelease = "enclava/v1 broker release"
    }

    /// Byte count of a DEK (AES-256).
    public static let dekByteCount = 32

    /// A sealed DEK: HPKE `enc` and the ciphertext (DEK ‖ 16-byte tag).
    public struct Sealed: Sendable, Equatable {
        /// The 32-byte encapsulated key.
        public let enc: [UInt8]
        /// The AEAD ciphertext of the DEK.
        public let ciphertext: [UInt8]

        /// Wraps the two fields of a `ProvisionKeyRequest` or a broker answer.
        public init(enc: [UInt8], ciphertext: [UInt8]) {
            self.enc = enc
            self.ciphertext = ciphertext
        }
    }

    /// HPKE `info` for `purpose` and the SHA-384 digest of the evidence blob.
    public static func info(purpose: Purpose, evidenceDigest: [UInt8]) -> [UInt8] {
        Array(purpose.rawValue.utf8) + evidenceDigest
    }

    /// Seals `dek` to `recipientPublicKey`.
    /// - Throws: ``CryptoError`` `.invalidKey` for a public key or DEK of the wrong size, or an HPKE failure.
    public static func seal(_ dek: SecureBytes, to recipientPublicKey: [UInt8], purpose: Purpose,
                            evidenceDigest: [UInt8], manifestDigest: [UInt8]) throws -> Sealed {
        guard dek.count == dekByteCount else {
            throw CryptoError(.invalidKey, "a model key is \(dekByteCount) bytes, got \(dek.count)")
        }
        guard evidenceDigest.count == 48 else {
            throw CryptoError(.invalidKey, "the evidence digest is SHA-384 (48 bytes), got \(evidenceDigest.count)")
        }
        var sender = try HPKE.Sender(recipientPublicKey: recipientPublicKey,
                                     info: info(purpose: purpose, evidenceDigest: evidenceDigest))
        return Sealed(enc: sender.encapsulatedKey, ciphertext: try sender.seal(dek, aad: manifestDigest))
    }

    /// Opens a sealed DEK with the enclave's private key.
    /// - Throws: ``CryptoError`` `.invalidKey` when `enc` is not 32 bytes or the result is not a DEK, and the
    ///   HPKE/AEAD error when the key was sealed for other evidence, another image, another purpose or was
    ///   altered.
    public static func open(_ sealed: Sealed, privateKey: X25519PrivateKey, purpose: Purpose,
                            evidenceDigest: [UInt8], manifestDigest: [UInt8]) throws -> SecureBytes {
        guard sealed.enc.count == HPKE.encapsulatedKeyByteCount else {
            throw CryptoError(.invalidKey, "the HPKE enc is \(HPKE.encapsulatedKeyByteCount) bytes, got \(sealed.enc.count)")
        }
        var recipient = try HPKE.Recipient(privateKey: privateKey, encapsulatedKey: sealed.enc,
                                           info: info(purpose: purpose, evidenceDigest: evidenceDigest))
        let dek = try recipient.open(sealed.ciphertext, aad: manifestDigest)
        guard dek.count == dekByteCount else {
            throw CryptoError(.invalidKey, "the sealed value is \(dek.count) bytes, not a \(dekByteCount)-byte model key")
        }
        return dek
    }
}
