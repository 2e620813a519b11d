// The key schedule of an Enclava session (DESIGN.md §3), shared by the enclave and the client so that the
// two sides cannot drift apart.

/// The fixed labels of the Enclava v1 protocol (DESIGN.md §3, §4). Changing any of them changes the wire
/// protocol: clients and enclaves built with different labels can no longer talk to each other.
public enum EnclavaProtocolLabels {
    /// Prefix of `report_data[0:32] = SHA-256(label ‖ nonce ‖ manifest_digest)`.
    public static let evidence = "enclava-evidence-v1"
    /// HPKE `info` = this prefix ‖ SHA-384(evidence blob).
    public static let sessionInfoPrefix = "enclava/v1 session"
    /// HPKE export context of the 32-byte AES-256-GCM response key.
    public static let responseKey = "enclava/v1 response key"
    /// HPKE export context of the 12-byte response base nonce.
    public static let responseNonce = "enclava/v1 response nonce"
    /// The purpose string that the image packager and the runtime both pass to the (simulated) platform
    /// sealing key derivation for the image data-encryption key.
    public static let dekSealingPurpose = "enclava/v1 image dek"

    /// UTF-8 bytes of a label.
    @inlinable
    public static func bytes(_ label: String) -> [UInt8] { Array(label.utf8) }
}

/// The derived keys of one session: HPKE `info`, request and response AAD, and the response key and
/// nonces exported from the HPKE context (DESIGN.md §3, step 5).
///
/// Requests are sealed with the HPKE context itself (`aad = session_id ‖ u64be(seq)`); responses are
/// AES-256-GCM under `export("enclava/v1 response key", 32)` with nonce
/// `export("enclava/v1 response nonce", 12) XOR u64be(seq)` (in the last 8 bytes) and the same AAD shape.
public struct SessionKeySchedule: Sendable {
    /// Byte count of a response key (AES-256).
    public static let responseKeyByteCount = 32
    /// Byte count of an AES-GCM nonce.
    public static let nonceByteCount = 12

    /// The 32-byte response key.
    public let responseKey: SecureBytes
    private let responseNonceBase: SecureBytes

    /// Derives the schedule from an HPKE exporter (`Sender.export` or `Recipient.export`).
    /// - Throws: whatever the exporter throws, or ``CryptoError`` `.internalFailure` when it returns
    ///   the wrong length.
    public init(export: (_ context: [UInt8], _ length: Int) throws -> SecureBytes) throws {
        let key = try export(EnclavaProtocolLabels.bytes(EnclavaProtocolLabels.responseKey), Self.responseKeyByteCount)
        let nonce = try export(EnclavaProtocolLabels.bytes(EnclavaProtocolLabels.responseNonce), Self.nonceByteCount)
        guard key.count == Self.responseKeyByteCount, nonce.count == Self.nonceByteCount else {
            throw CryptoError(.internalFailure, "HPKE export returned \(key.count)/\(nonce.count) bytes, expected 32/12")
        }
        self.responseKey = key
        self.responseNonceBase = nonce
    }

    /// Derives the schedule of the client side of a session.
    public init(sender: HPKE.Sender) throws {
        try self.init(export: { try sender.export(context: $0, length: $1) })
    }

    /// Derives the schedule of the enclave side of a session.
    public init(recipient: HPKE.Recipient) throws {
        try self.init(export: { try recipient.export(context: $0, length: $1) })
    }

    /// HPKE `info` for a session bound to the given evidence blob: `prefix ‖ SHA-384(blob)`.
    public static func info(evidenceBlob: [UInt8]) -> [UInt8] {
        info(evidenceDigest: SHA2.sha384(evidenceBlob))
    }

    /// HPKE `info` from an already computed SHA-384 evidence digest.
    public static func info(evidenceDigest: [UInt8]) -> [UInt8] {
        EnclavaProtocolLabels.bytes(EnclavaProtocolLabels.sessionInfoPrefix) + evidenceDigest
    }

    /// `session_id ‖ u64be(sequence)`, the AAD of request `sequence`.
    public static func requestAAD(sessionID: [UInt8], sequence: UInt64) -> [UInt8] {
        sessionID + bigEndianBytes(sequence)
    }

    /// `session_id ‖ u64be(sequence)`, the AAD of response `sequence`.
    public static func responseAAD(sessionID: [UInt8], sequence: UInt64) -> [UInt8] {
        sessionID + bigEndianBytes(sequence)
    }

    /// The response nonce of `sequence`: the exported base nonce XOR `u64be(sequence)` in its last 8 bytes.
    public func responseNonce(sequence: UInt64) -> [UInt8] {
        var nonce = responseNonceBase.unsafeCopyToArray()
        let seq = Self.bigEndianBytes(sequence)
        for index in 0..<8 { nonce[4 + index] ^= seq[index] }
        return nonce
    }

    /// Encrypts a response plaintext (enclave side).
    /// - Throws: ``CryptoError`` from AES-GCM.
    public func sealResponse(_ plaintext: SecureBytes, sessionID: [UInt8], sequence: UInt64) throws -> [UInt8] {
        try AESGCM.seal(key: responseKey, nonce: responseNonce(sequence: sequence), plaintext: plaintext,
                        aad: Self.responseAAD(sessionID: sessionID, sequence: sequence))
    }

    /// Decrypts a response ciphertext (client side).
    /// - Throws: ``CryptoError`` `.authenticationFailed` when the ciphertext, the sequence or the session
    ///   does not match.
    public func openResponse(_ ciphertext: [UInt8], sessionID: [UInt8], sequence: UInt64) throws -> SecureBytes {
        try AESGCM.open(key: responseKey, nonce: responseNonce(sequence: sequence), ciphertextAndTag: ciphertext,
                        aad: Self.responseAAD(sessionID: sessionID, sequence: sequence))
    }

    /// `value` as 8 big-endian bytes.
    public static func bigEndianBytes(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * UInt64($0))) }
    }
}
