/// An Arm CCA attestation token or PSA token, parsed strictly but **not verified** (see
/// ``EvidenceVerifier/verifyArm(token:platform:cpaks:)``).
///
/// CCA layouts accepted (`Evidence.blob`):
/// * the CMW collection: tag 907 over `{"__cmwc_t": "tag:arm.com,2023:cca#1.0.0", 44234: [263, bstr],
///   44241: [263, bstr]}` (each record's type the CoAP content format 263, `application/eat+cwt`, or that media
///   type as text);
/// * the legacy collection (TF-RMM ≤ 0.4): tag 399 over `{44234: bstr, 44241: bstr}`.
///
/// Each bstr is a (tagged) COSE_Sign1 with ES384 or ES256. A PSA token is a single COSE_Sign1.
public struct ArmToken: Sendable {
    /// The collection layout the CCA token used (nil for PSA).
    public enum Layout: String, Sendable {
        /// CBOR tag 907, a CMW collection.
        case cmwCollection = "cmw-collection (tag 907)"
        /// CBOR tag 399, the legacy collection.
        case legacy = "legacy collection (tag 399)"
    }

    /// The collection layout (CCA only).
    public let layout: Layout?
    /// The platform token (CCA) or the PSA token.
    public let platformCOSE: COSESign1
    /// Its claims.
    public let platform: ArmPlatformClaims
    /// The realm token (CCA only).
    public let realmCOSE: COSESign1?
    /// Its claims (CCA only).
    public let realm: CCARealmClaims?

    static let ccaFormat = "an Arm CCA attestation token"
    static let psaFormat = "an Arm PSA attestation token"
    static let collectionType = "tag:arm.com,2023:cca#1.0.0"
    static let platformLabel: UInt64 = 44234
    static let realmLabel: UInt64 = 44241
    static let eatCWTContentFormat: UInt64 = 263
    static let eatCWTMediaType = "application/eat+cwt"
    static let algorithms = [COSESign1.es384, COSESign1.es256]
    /// The largest token accepted (a TF-RMM token is about 1.2 KiB).
    public static let maxBytes = 16 << 10

    /// Parses a CCA token (`psa` false) or a PSA token (`psa` true).
    /// - Throws: ``AttestationError`` `malformedEvidence` naming the part and claim that is wrong.
    public init(parsing bytes: [UInt8], psa: Bool) throws(AttestationError) {
        guard bytes.count <= Self.maxBytes else {
            throw AttestationError(
                .malformedEvidence, field: "token", expected: "at most \(Self.maxBytes) bytes", actual: "\(bytes.count) bytes",
                "the token is larger than any \(psa ? "PSA" : "CCA") token; it is not attestation evidence")
        }
        if psa {
            let cose = try COSESign1(parsing: bytes, algorithms: Self.algorithms, format: Self.psaFormat)
            layout = nil
            platformCOSE = cose
            platform = try ArmPlatformClaims(payload: cose.payload, part: "psa", psa: true, format: Self.psaFormat)
            realmCOSE = nil
            realm = nil
            return
        }
        let (layout, platformBytes, realmBytes) = try Self.collection(bytes)
        self.layout = layout
        platformCOSE = try Self.part(platformBytes, "platform")
        platform = try ArmPlatformClaims(payload: platformCOSE.payload, part: "platform", psa: false, format: Self.ccaFormat)
        let realmCOSE = try Self.part(realmBytes, "realm")
        self.realmCOSE = realmCOSE
        realm = try CCARealmClaims(payload: realmCOSE.payload, format: Self.ccaFormat)
    }

    /// A COSE_Sign1 part, its errors' fields prefixed with the part.
    private static func part(_ bytes: [UInt8], _ name: String) throws(AttestationError) -> COSESign1 {
        do {
            return try COSESign1(parsing: bytes, algorithms: algorithms, format: ccaFormat)
        } catch {
            throw AttestationError(
                error.code, field: "\(name).\(error.field ?? "COSE_Sign1")", expected: error.expected, actual: error.actual,
                "\(name) token: \(error.message)")
        }
    }

    private static func malformed(_ field: String, expected: String?, actual: String?, _ problem: String) -> AttestationError {
        AttestationError(.malformedEvidence, field: field, expected: expected, actual: actual,
                         "\(problem); the evidence is corrupt or not \(ccaFormat)")
    }

    /// The collection's layout and its two token byte strings.
    private static func collection(_ bytes: [UInt8]) throws(AttestationError) -> (Layout, [UInt8], [UInt8]) {
        guard let (tag, item) = CBORDecoder.leadingTag(bytes), tag == 907 || tag == 399 else {
            throw malformed("collection", expected: "CBOR tag 907 (CMW collection) or 399 (legacy)",
                            actual: CBORDecoder.leadingTag(bytes).map { "tag \($0.tag)" } ?? "no tag",
                            "a CCA token starts with the collection tag")
        }
        let value = try CBORDecoder.decode(item, limits: .init(maxDepth: 3, maxContainerCount: 8), structure: "CCA collection",
                                           format: ccaFormat)
        guard case .map(let entries) = value else {
            throw malformed("collection", expected: "map", actual: value.typeName, "the collection must be a map")
        }
        let layout: Layout = tag == 907 ? .cmwCollection : .legacy
        let known: Set<CBORValue> = layout == .cmwCollection
            ? [.text("__cmwc_t"), .unsigned(platformLabel), .unsigned(realmLabel)]
            : [.unsigned(platformLabel), .unsigned(realmLabel)]
        if let extra = entries.first(where: { !known.contains($0.key) }) {
            throw malformed("collection", expected: "only the platform (44234) and realm (44241) tokens",
                            actual: "key \(COSESign1.describe(extra.key))", "the collection holds an unknown entry")
        }
        if layout == .cmwCollection {
            guard value[.text("__cmwc_t")] == .text(collectionType) else {
                throw malformed("collection.__cmwc_t", expected: collectionType,
                                actual: value[.text("__cmwc_t")].map(COSESign1.describe) ?? "missing",
                                "the CMW collection is not a CCA token collection")
            }
        }
        func token(_ label: UInt64, _ name: String) throws(AttestationError) -> [UInt8] {
            guard let item = value[.unsigned(label)] else {
                throw malformed("collection.\(name)", expected: "present (key \(label))", actual: "missing",
                                "the collection has no \(name) token")
            }
            if layout == .legacy {
                guard case .bytes(let token) = item else {
                    throw malformed("collection.\(name)", expected: "byte string", actual: item.typeName, "the \(name) token must be a byte string")
                }
                return token
            }
            guard case .array(let record) = item, record.count == 2, case .bytes(let token) = record[1] else {
                throw malformed("collection.\(name)", expected: "a CMW record [263, bstr]", actual: COSESign1.describe(item),
                                "the \(name) token must be a CMW record")
            }
            switch record[0] {
            case .unsigned(eatCWTContentFormat): break
            case .text(let type) where type.hasPrefix(eatCWTMediaType): break
            default:
                throw malformed("collection.\(name).type", expected: "263 (application/eat+cwt)", actual: COSESign1.describe(record[0]),
                                "the \(name) token's CMW type is not an EAT CWT")
            }
            return token
        }
        return (layout, try token(platformLabel, "platform"), try token(realmLabel, "realm"))
    }
}
