/// A COSE_Sign1 message (RFC 9052 §4.2) as AWS Nitro Enclaves produce it:
/// `[protected: bstr .cbor {1: -35}, unprotected: {}, payload: bstr, signature: bstr]`, untagged (a leading
/// tag 18, COSE_Sign1's registered tag, is also accepted).
///
/// Parsing checks the structure only; the signature is checked by
/// ``EvidenceVerifier/verifyNitro(document:at:)`` over ``signatureStructure``.
public struct COSESign1: Sendable, Equatable {
    /// COSE algorithm ES384: ECDSA with SHA-384 (on P-384 for Nitro).
    public static let es384: Int64 = -35
    /// The only signature size ES384 on P-384 has: `r ‖ s`, 48 bytes each.
    public static let es384SignatureByteCount = 96

    /// The protected header exactly as encoded (it is signed as these bytes).
    public let protectedHeader: [UInt8]
    /// The protected header's algorithm (always ``es384`` after parsing).
    public let algorithm: Int64
    /// The payload bytes (for Nitro: the CBOR attestation document map).
    public let payload: [UInt8]
    /// The signature, `r ‖ s` big-endian.
    public let signature: [UInt8]

    /// Parses a COSE_Sign1 message.
    /// - Throws: ``AttestationError`` `malformedEvidence` naming the element that is wrong.
    public init(parsing bytes: [UInt8], limits: CBORDecoder.Limits = CBORDecoder.Limits()) throws(AttestationError) {
        // Tag 18 (0xD2) is the only tag allowed, and only in front of the whole message.
        let untagged = bytes.first == 0xD2 ? Array(bytes.dropFirst()) : bytes
        let message = try CBORDecoder.decode(untagged, limits: limits, structure: "COSE_Sign1")
        guard case .array(let items) = message, items.count == 4 else {
            throw Self.malformed(
                "COSE_Sign1", expected: "an array of 4 items", actual: Self.describe(message),
                "the attestation document is not a COSE_Sign1 message")
        }
        guard case .bytes(let protected) = items[0] else {
            throw Self.malformed("COSE_Sign1.protected", expected: "byte string", actual: items[0].typeName,
                                 "the protected header must be a byte string holding a CBOR map")
        }
        guard case .map(let unprotected) = items[1] else {
            throw Self.malformed("COSE_Sign1.unprotected", expected: "map", actual: items[1].typeName,
                                 "the unprotected header must be a map")
        }
        guard unprotected.isEmpty else {
            throw Self.malformed("COSE_Sign1.unprotected", expected: "{}", actual: "\(unprotected.count) entries",
                                 "a Nitro document has an empty unprotected header; unsigned header values are refused")
        }
        guard case .bytes(let payload) = items[2] else {
            throw Self.malformed("COSE_Sign1.payload", expected: "byte string", actual: items[2].typeName,
                                 "the payload must be an attached byte string (detached payloads are not used by Nitro)")
        }
        guard case .bytes(let signature) = items[3] else {
            throw Self.malformed("COSE_Sign1.signature", expected: "byte string", actual: items[3].typeName,
                                 "the signature must be a byte string")
        }
        algorithm = try Self.algorithm(protectedHeader: protected, limits: limits)
        guard signature.count == Self.es384SignatureByteCount else {
            throw Self.malformed("COSE_Sign1.signature", expected: "\(Self.es384SignatureByteCount) bytes",
                                 actual: "\(signature.count) bytes", "an ES384 signature is r ‖ s, 48 bytes each")
        }
        protectedHeader = protected
        self.payload = payload
        self.signature = signature
    }

    /// The bytes that are signed: `["Signature1", protected, h'' (external_aad), payload]` in CBOR.
    public var signatureStructure: [UInt8] {
        CBORValue.array([.text("Signature1"), .bytes(protectedHeader), .bytes([]), .bytes(payload)]).encoded
    }

    /// The protected header must be exactly `{1: -35}` (alg ES384); nothing else, so no `crit` header can hide.
    private static func algorithm(protectedHeader: [UInt8], limits: CBORDecoder.Limits) throws(AttestationError) -> Int64 {
        let header = try CBORDecoder.decode(protectedHeader, limits: limits, structure: "COSE protected header")
        guard case .map(let entries) = header, entries.count == 1, entries[0].key == .unsigned(1) else {
            throw malformed("COSE_Sign1.protected", expected: "{1: -35}", actual: describe(header),
                            "the protected header must hold only the algorithm (label 1)")
        }
        guard let alg = entries[0].value.integerValue, alg == es384 else {
            throw malformed("COSE_Sign1.protected.alg", expected: "-35 (ES384)", actual: describe(entries[0].value),
                            "only ES384 (ECDSA P-384 with SHA-384) is accepted for Nitro documents")
        }
        return alg
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
