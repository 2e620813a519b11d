/// HPKE (RFC 9180) in base mode with DHKEM(X25519, HKDF-SHA256) and HKDF-SHA256, and AES-128-GCM or
/// AES-256-GCM as the AEAD. Enclava sessions use suite 0x0020 / 0x0001 / 0x0002 (DESIGN.md §3).
public enum HPKE {
    /// The AEAD of the suite.
    public enum AEAD: UInt16, Sendable {
        case aes128GCM = 0x0001
        case aes256GCM = 0x0002

        /// Key size `Nk` in bytes.
        public var keyByteCount: Int { self == .aes128GCM ? 16 : 32 }
        /// Nonce size `Nn` in bytes.
        public var nonceByteCount: Int { 12 }
        /// Tag size `Nt` in bytes.
        public var tagByteCount: Int { 16 }
    }

    /// KEM identifier of DHKEM(X25519, HKDF-SHA256).
    public static let kemID: UInt16 = 0x0020
    /// KDF identifier of HKDF-SHA256.
    public static let kdfID: UInt16 = 0x0001
    /// Size of `enc` (an X25519 public key).
    public static let encapsulatedKeyByteCount = 32

    /// RFC 9180 §7.1.3 DeriveKeyPair for X25519: a private key derived deterministically from `ikm`.
    /// - Throws: ``CryptoError`` `.invalidInput` when `ikm` is shorter than 32 bytes.
    public static func deriveKeyPair(ikm: SecureBytes) throws -> X25519PrivateKey {
        guard ikm.count >= 32 else {
            throw CryptoError(.invalidInput, "HPKE DeriveKeyPair needs at least 32 bytes of input keying material, got \(ikm.count)")
        }
        let suite = kemSuiteID
        let prk = labeledExtract(suiteID: suite, salt: [], label: "dkp_prk", ikm: ikm)
        let secret = try labeledExpand(suiteID: suite, prk: prk, label: "sk", info: [], length: X25519PrivateKey.byteCount)
        return try X25519PrivateKey(rawRepresentation: secret)
    }

    // MARK: - RFC 9180 building blocks (internal)

    static let version = Array("HPKE-v1".utf8)

    /// `"KEM" ‖ I2OSP(kem_id, 2)`.
    static var kemSuiteID: [UInt8] { Array("KEM".utf8) + i2osp(kemID) }

    /// `"HPKE" ‖ I2OSP(kem_id, 2) ‖ I2OSP(kdf_id, 2) ‖ I2OSP(aead_id, 2)`.
    static func suiteID(_ aead: AEAD) -> [UInt8] {
        Array("HPKE".utf8) + i2osp(kemID) + i2osp(kdfID) + i2osp(aead.rawValue)
    }

    static func i2osp(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }

    /// `LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1" ‖ suite_id ‖ label ‖ ikm)`.
    static func labeledExtract(suiteID: [UInt8], salt: [UInt8], label: String, ikm: SecureBytes) -> SecureBytes {
        var labeled = SecureBytes(version + suiteID + Array(label.utf8))
        labeled.append(ikm)
        return HKDF.extract(.sha256, salt: salt, ikm: labeled)
    }

    /// `LabeledExtract` whose salt is itself a secret (the key schedule's `secret` step).
    static func labeledExtract(suiteID: [UInt8], secretSalt: SecureBytes, label: String, ikm: SecureBytes) -> SecureBytes {
        var labeled = SecureBytes(version + suiteID + Array(label.utf8))
        labeled.append(ikm)
        return HKDF.extract(.sha256, secretSalt: secretSalt, ikm: labeled)
    }

    /// `LabeledExpand(prk, label, info, L) = Expand(prk, I2OSP(L, 2) ‖ "HPKE-v1" ‖ suite_id ‖ label ‖ info, L)`.
    static func labeledExpand(suiteID: [UInt8], prk: SecureBytes, label: String, info: [UInt8], length: Int) throws -> SecureBytes {
        guard length > 0, length <= Int(UInt16.max) else {
            throw CryptoError(.invalidInput, "HPKE output length must be 1…65535 bytes, got \(length)")
        }
        let labeledInfo = i2osp(UInt16(length)) + version + suiteID + Array(label.utf8) + info
        return try HKDF.expand(.sha256, prk: prk, info: labeledInfo, length: length)
    }

    /// DHKEM ExtractAndExpand: the KEM shared secret from the DH output and `enc ‖ pkR`.
    static func extractAndExpand(dh: SecureBytes, kemContext: [UInt8]) throws -> SecureBytes {
        let prk = labeledExtract(suiteID: kemSuiteID, salt: [], label: "eae_prk", ikm: dh)
        return try labeledExpand(suiteID: kemSuiteID, prk: prk, label: "shared_secret", info: kemContext, length: 32)
    }

    /// Base-mode KeySchedule (mode 0x00, empty PSK and PSK id).
    static func keySchedule(sharedSecret: SecureBytes, info: [UInt8], aead: AEAD) throws -> Context {
        let suite = suiteID(aead)
        let pskIDHash = labeledExtract(suiteID: suite, salt: [], label: "psk_id_hash", ikm: SecureBytes())
        let infoHash = labeledExtract(suiteID: suite, salt: [], label: "info_hash", ikm: SecureBytes(info))
        // These two hashes are public values (they depend only on the empty PSK id and on `info`).
        let keyScheduleContext = [UInt8(0)] + pskIDHash.unsafeCopyToArray() + infoHash.unsafeCopyToArray()
        let secret = labeledExtract(suiteID: suite, secretSalt: sharedSecret, label: "secret", ikm: SecureBytes())
        let key = try labeledExpand(suiteID: suite, prk: secret, label: "key", info: keyScheduleContext, length: aead.keyByteCount)
        let baseNonce = try labeledExpand(suiteID: suite, prk: secret, label: "base_nonce", info: keyScheduleContext,
                                          length: aead.nonceByteCount)
        let exporterSecret = try labeledExpand(suiteID: suite, prk: secret, label: "exp", info: keyScheduleContext, length: 32)
        return Context(aead: aead, suiteID: suite, key: key, baseNonce: baseNonce, exporterSecret: exporterSecret)
    }
}

extension SecureBytes {
    /// Zero bytes.
    init() { self.init(count: 0) }
}
