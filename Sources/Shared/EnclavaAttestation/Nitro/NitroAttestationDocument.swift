import Foundation

/// An AWS Nitro Enclaves attestation document, **parsed but not verified**: a COSE_Sign1 message whose
/// payload is a CBOR map (AWS "Verifying the root of trust", and evidence-formats.md §7).
///
/// Parsing applies AWS's syntactic rules: `module_id` a non-empty text, `digest` = `"SHA384"`, `timestamp` a
/// non-zero count of milliseconds since the Unix epoch, `pcrs` 1…32 entries of index 0…31 → 48 bytes with
/// PCR0 present, `certificate` and each `cabundle` entry 1…1024 bytes of DER (at least one in the bundle),
/// `public_key` 1…1024 bytes, `user_data` and `nonce` 0…1024 bytes (each optional, `null` = absent).
/// Unknown or duplicate keys are refused. Only ``EvidenceVerifier/verifyNitro(document:at:)`` says whether
/// the values can be trusted.
public struct NitroAttestationDocument: Sendable, Equatable {
    /// The only digest Nitro uses for its PCRs.
    public static let digestSHA384 = "SHA384"
    /// Size of a SHA-384 PCR.
    public static let pcrByteCount = 48
    /// The PCR indices a document may hold.
    public static let pcrIndices = 0..<32
    /// The largest `certificate`, `cabundle` entry, `public_key`, `user_data` or `nonce`.
    public static let maxFieldByteCount = 1024

    /// The signed envelope.
    public let cose: COSESign1
    /// The enclave's module id (`i-…-enc…`).
    public let moduleID: String
    /// The PCR digest algorithm (`SHA384`).
    public let digest: String
    /// When the NSM made the document, in milliseconds since 1970-01-01 UTC.
    public let timestamp: UInt64
    /// The PCRs by index.
    public let pcrs: [Int: [UInt8]]
    /// The DER certificate whose key signed the document (the leaf).
    public let certificate: [UInt8]
    /// DER certificates from the root (`cabundle[0]`) down to the issuer of ``certificate``.
    public let caBundle: [[UInt8]]
    /// The optional public key the enclave asked the NSM to include.
    public let publicKey: [UInt8]?
    /// The optional user data the enclave asked the NSM to include.
    public let userData: [UInt8]?
    /// The optional nonce the enclave asked the NSM to include.
    public let nonce: [UInt8]?

    /// ``timestamp`` as a date.
    public var date: Date { Date(timeIntervalSince1970: TimeInterval(timestamp) / 1000) }

    /// A PCR's value, if the document has it.
    public func pcr(_ index: Int) -> [UInt8]? { pcrs[index] }

    /// True when PCR0 is all zeros: the enclave runs in **debug mode** (its console is readable by the
    /// parent instance, and AWS zeroes PCR0–2 to say so).
    public var isDebug: Bool { pcrs[0].map { $0.allSatisfy { $0 == 0 } } ?? true }

    /// Parses a COSE_Sign1 attestation document (as `nsm_get_attestation_doc` returns it).
    /// - Throws: ``AttestationError`` `malformedEvidence` naming the field (`payload.pcrs`, `COSE_Sign1`, …).
    public init(parsing bytes: [UInt8]) throws(AttestationError) {
        let cose = try COSESign1(parsing: bytes)
        let payload = try CBORDecoder.decode(cose.payload, structure: "attestation document payload")
        guard case .map(let entries) = payload else {
            throw Self.malformed("payload", expected: "map", actual: payload.typeName, "the payload must be a CBOR map")
        }
        var fields: [String: CBORValue] = [:]
        for entry in entries {
            guard case .text(let key) = entry.key, Self.knownKeys.contains(key) else {
                throw Self.malformed(
                    "payload", expected: Self.knownKeys.sorted().joined(separator: ", "), actual: COSESign1.describe(entry.key),
                    "the payload holds a key that is not part of an attestation document")
            }
            fields[key] = entry.value
        }
        self.cose = cose
        moduleID = try Self.text(fields, "module_id")
        digest = try Self.text(fields, "digest")
        guard digest == Self.digestSHA384 else {
            throw Self.malformed("payload.digest", expected: Self.digestSHA384, actual: digest, "only SHA-384 PCRs are defined")
        }
        guard case .unsigned(let timestamp) = try Self.required(fields, "timestamp"), timestamp > 0 else {
            throw Self.malformed("payload.timestamp", expected: "an unsigned integer > 0", actual: fields["timestamp"].map(COSESign1.describe),
                                 "the timestamp must be milliseconds since the Unix epoch")
        }
        self.timestamp = timestamp
        pcrs = try Self.pcrs(try Self.required(fields, "pcrs"))
        certificate = try Self.bytes(fields, "certificate", 1...Self.maxFieldByteCount)
        caBundle = try Self.caBundle(try Self.required(fields, "cabundle"))
        publicKey = try Self.optionalBytes(fields, "public_key", 1...Self.maxFieldByteCount)
        userData = try Self.optionalBytes(fields, "user_data", 0...Self.maxFieldByteCount)
        nonce = try Self.optionalBytes(fields, "nonce", 0...Self.maxFieldByteCount)
    }

    static let knownKeys: Set<String> = [
        "module_id", "digest", "timestamp", "pcrs", "certificate", "cabundle", "public_key", "user_data", "nonce",
    ]

    private static func required(_ fields: [String: CBORValue], _ key: String) throws(AttestationError) -> CBORValue {
        guard let value = fields[key] else {
            throw malformed("payload.\(key)", expected: "present", actual: "missing", "the attestation document has no `\(key)`")
        }
        return value
    }

    private static func text(_ fields: [String: CBORValue], _ key: String) throws(AttestationError) -> String {
        guard case .text(let text) = try required(fields, key), !text.isEmpty else {
            throw malformed("payload.\(key)", expected: "a non-empty text string", actual: fields[key].map(COSESign1.describe),
                            "`\(key)` must be a non-empty text string")
        }
        return text
    }

    private static func bytes(
        _ fields: [String: CBORValue], _ key: String, _ sizes: ClosedRange<Int>
    ) throws(AttestationError) -> [UInt8] {
        try checkedBytes(try required(fields, key), field: "payload.\(key)", sizes)
    }

    private static func optionalBytes(
        _ fields: [String: CBORValue], _ key: String, _ sizes: ClosedRange<Int>
    ) throws(AttestationError) -> [UInt8]? {
        guard let value = fields[key], value != .null else { return nil }
        return try checkedBytes(value, field: "payload.\(key)", sizes)
    }

    private static func checkedBytes(_ value: CBORValue, field: String, _ sizes: ClosedRange<Int>) throws(AttestationError) -> [UInt8] {
        guard case .bytes(let bytes) = value else {
            throw malformed(field, expected: "byte string", actual: value.typeName, "`\(field)` must be a byte string")
        }
        guard sizes.contains(bytes.count) else {
            throw malformed(field, expected: "\(sizes.lowerBound)…\(sizes.upperBound) bytes", actual: "\(bytes.count) bytes",
                            "`\(field)` has a size the format does not allow")
        }
        return bytes
    }

    private static func pcrs(_ value: CBORValue) throws(AttestationError) -> [Int: [UInt8]] {
        guard case .map(let entries) = value, (1...pcrIndices.count).contains(entries.count) else {
            throw malformed("payload.pcrs", expected: "a map of 1…32 PCRs", actual: COSESign1.describe(value),
                            "`pcrs` must map PCR indices to digests")
        }
        var pcrs: [Int: [UInt8]] = [:]
        for entry in entries {
            guard case .unsigned(let index) = entry.key, index < UInt64(pcrIndices.upperBound) else {
                throw malformed("payload.pcrs", expected: "index 0…31", actual: COSESign1.describe(entry.key),
                                "a PCR index must be an integer 0…31")
            }
            pcrs[Int(index)] = try checkedBytes(entry.value, field: "payload.pcrs[\(index)]", pcrByteCount...pcrByteCount)
        }
        guard pcrs[0] != nil else {
            throw malformed("payload.pcrs[0]", expected: "present", actual: "missing", "the document must hold PCR0 (the enclave image)")
        }
        return pcrs
    }

    private static func caBundle(_ value: CBORValue) throws(AttestationError) -> [[UInt8]] {
        guard case .array(let items) = value, !items.isEmpty else {
            throw malformed("payload.cabundle", expected: "a non-empty array", actual: COSESign1.describe(value),
                            "`cabundle` must list the certificates from the root to the leaf's issuer")
        }
        var bundle: [[UInt8]] = []
        for (index, item) in items.enumerated() {
            bundle.append(try checkedBytes(item, field: "payload.cabundle[\(index)]", 1...maxFieldByteCount))
        }
        return bundle
    }

    private static func malformed(
        _ field: String, expected: String? = nil, actual: String? = nil, _ message: String
    ) -> AttestationError {
        COSESign1.malformed(field, expected: expected, actual: actual, message)
    }
}
