/// A COSE_Sign1 message (RFC 9052 §4.2) as AWS Nitro Enclaves produce it:
/// `[protected: bstr .cbor {1: -35}, unprotected: {}, payload: bstr, signature: bstr]`, untagged (a leading
/// tag 18, COSE_Sign1's registered tag, is also accepted).
///
/// Parsing checks the structure only; the signature is checked by
/// ``EvidenceVerifier/verifyNitro(document:at:)`` over ``signatureStructure`` (Arm CCA and PSA tokens:
/// ``isValidSignature(under:)``, with ES256 allowed too).
public struct COSESign1: Sendable, Equatable {
    /// COSE algorithm ES384: ECDSA with SHA-384 (on P-384 for Nitro).
    public static let es384: Int64 = -35
    /// The only signature size ES384 on P-384 has: `r ‖ s`, 48 bytes each.
    public static let es384SignatureByteCount = 96
    /// COSE algorithm ES256: ECDSA with SHA-256 on P-256 (Arm PSA tokens).
    public static let es256: Int64 = -7

    /// The protected header exactly as encoded (it is signed as these bytes).
    public let protectedHeader: [UInt8]
    /// The protected header's algorithm (one of the `algorithms` parsing allowed: ``es384`` for Nitro).
    public let algorithm: Int64
    /// The payload bytes (for Nitro: the CBOR attestation document map).
    public let payload: [UInt8]
    /// The signature, `r ‖ s` big-endian.
    public let signature: [UInt8]

    /// Parses a COSE_Sign1 message.
    /// - Parameters:
    ///   - algorithms: the COSE algorithms accepted (ES384 and/or ES256); the default is Nitro's ES384 only.
    ///   - format: the evidence format, for error messages.
    /// - Throws: ``AttestationError`` `malformedEvidence` naming the element that is wrong.
    public init(
        parsing bytes: [UInt8], limits: CBORDecoder.Limits = CBORDecoder.Limits(), algorithms: [Int64] = [COSESign1.es384],
        format: String = "an AWS Nitro attestation document"
    ) throws(AttestationError) {
        // Tag 18 (0xD2) is the only tag allowed, and only in front of the whole message.
        let untagged = bytes.first == 0xD2 ? Array(bytes.dropFirst()) : bytes
        let malformed = { (field: String, expected: String?, actual: String?, message: String) -> AttestationError in
            AttestationError(.malformedEvidence, field: field, expected: expected, actual: actual,
                             message + "; the evidence is corrupt or not \(format)")
        }
        let message = try CBORDecoder.decode(untagged, limits: limits, structure: "COSE_Sign1", format: format)
        guard case .array(let items) = message, items.count == 4 else {
            throw malformed("COSE_Sign1", "an array of 4 items", Self.describe(message), "the token is not a COSE_Sign1 message")
        }
        guard case .bytes(let protected) = items[0] else {
            throw malformed("COSE_Sign1.protected", "byte string", items[0].typeName, "the protected header must be a byte string holding a CBOR map")
        }
        guard case .map(let unprotected) = items[1] else {
            throw malformed("COSE_Sign1.unprotected", "map", items[1].typeName, "the unprotected header must be a map")
        }
        guard unprotected.isEmpty else {
            throw malformed("COSE_Sign1.unprotected", "{}", "\(unprotected.count) entries", "the unprotected header must be empty; unsigned header values are refused")
        }
        guard case .bytes(let payload) = items[2] else {
            throw malformed("COSE_Sign1.payload", "byte string", items[2].typeName, "the payload must be an attached byte string (detached payloads are not accepted)")
        }
        guard case .bytes(let signature) = items[3] else {
            throw malformed("COSE_Sign1.signature", "byte string", items[3].typeName, "the signature must be a byte string")
        }
        algorithm = try Self.algorithm(protectedHeader: protected, limits: limits, algorithms: algorithms, format: format)
        let signatureSize = Self.signatureByteCount(algorithm)
        guard signature.count == signatureSize else {
            throw malformed("COSE_Sign1.signature", "\(signatureSize) bytes", "\(signature.count) bytes",
                            "an \(Self.name(algorithm)) signature is r ‖ s, \(signatureSize / 2) bytes each")
        }
        protectedHeader = protected
        self.payload = payload
        self.signature = signature
    }

    /// The bytes that are signed: `["Signature1", protected, h'' (external_aad), payload]` in CBOR.
    public var signatureStructure: [UInt8] {
        CBORValue.array([.text("Signature1"), .bytes(protectedHeader), .bytes([]), .bytes(payload)]).encoded
    }

    /// The protected header must be exactly `{1: alg}` with an accepted alg; nothing else, so no `crit` header can hide.
    private static func algorithm(
        protectedHeader: [UInt8], limits: CBORDecoder.Limits, algorithms: [Int64], format: String
    ) throws(AttestationError) -> Int64 {
        let header = try CBORDecoder.decode(protectedHeader, limits: limits, structure: "COSE protected header", format: format)
        let accepted = algorithms.map { "\($0) (\(name($0)))" }.joined(separator: " or ")
        guard case .map(let entries) = header, entries.count == 1, entries[0].key == .unsigned(1) else {
            throw AttestationError(
                .malformedEvidence, field: "COSE_Sign1.protected",
                expected: "{1: \(algorithms.map(String.init).joined(separator: " or "))}", actual: describe(header),
                "the protected header must hold only the algorithm (label 1); the evidence is corrupt or not \(format)")
        }
        guard let alg = entries[0].value.integerValue, algorithms.contains(alg) else {
            throw AttestationError(
                .malformedEvidence, field: "COSE_Sign1.protected.alg", expected: accepted, actual: describe(entries[0].value),
                "only \(algorithms.map(name).joined(separator: " and ")) signatures are accepted for \(format)")
        }
        return alg
    }

    /// `r ‖ s` size of an accepted algorithm's signature.
    static func signatureByteCount(_ algorithm: Int64) -> Int { algorithm == es256 ? 64 : es384SignatureByteCount }

    /// "ES256", "ES384".
    static func name(_ algorithm: Int64) -> String {
        switch algorithm {
        case es256: "ES256"
        case es384: "ES384"
        default: "alg \(algorithm)"
        }
    }

    static func describe(_ value: CBORValue) -> String {
        switch value {
        case .array(let items): "array of \(items.count)"
        case .map(let entries): "map of \(entries.count)"
        case .unsigned, .negative: value.integerValue.map(String.init) ?? "integer"
        default: value.typeName
        }
    }

    static func malformed(
        _ field: String, expected: String? = nil, actual: String? = nil, _ message: String
    ) -> AttestationError {
        AttestationError(.malformedEvidence, field: field, expected: expected, actual: actual,
                         message + "; the evidence is corrupt or not an AWS Nitro attestation document")
    }
}
