import EnclavaCrypto
import Foundation
@testable import EnclavaAttestation

/// The Arm test tokens in `../shared/testdata/attestation/arm-cca-psa` (TF-RMM / TF-M, test keys: never trust
/// anchors) and the values PROVENANCE.md lists for them.
enum ArmSamples {
    static let folder = TestData.shared.appendingPathComponent("testdata/attestation/arm-cca-psa")

    static func bytes(_ relative: String) throws -> [UInt8] { Array(try Data(contentsOf: folder.appendingPathComponent(relative))) }
    static func text(_ relative: String) throws -> String { try String(contentsOf: folder.appendingPathComponent(relative), encoding: .utf8) }

    static var cca: [UInt8] { get throws { try bytes("veraison-ccatoken/cca_token.cbor") } }
    static var cpakPEM: String { get throws { try text("veraison-ccatoken/cca_platform.pub") } }
    static var psa2: [UInt8] { get throws { try bytes("veraison-psatoken/psa-2_0_0_sign1.bin") } }
    static var psaIoT: [UInt8] { get throws { try bytes("veraison-psatoken/psa-iot-1_sign1.bin") } }
    static var iakPEM: String { get throws { try text("veraison-psatoken/public.pem") } }

    static let ccaInstanceID = "0107060504030201000f0e0d0c0b0a090817161514131211101f1e1d1c1b1a1918"
    static let ccaChallenge = "b5973cb68baa9fc55558786b7ec67f69e40df5ba5aa921cd0c27f40587a011ea"
    static let ccaRAKPrefix = "0476f988"
    static let ccaRPV = Array("The quick brown fox jumps over 13 lazy dogs.The quick brown fox ".utf8)
    static let psaInstanceID = "01fa58755f658627ce5460f29b75296713248cae7ad9e2984b90280efcbcb50248"
    static let psaImplementationID = "aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbccccccccccccccccdddddddddddddddd"
    static let componentMeasurement = "07060504030201000f0e0d0c0b0a090817161514131211101f1e1d1c1b1a1918"

    /// A policy for `platform` with the sample keys pinned under their instance ids.
    static func policy(_ platforms: [EvidencePlatform] = [.cca, .psa]) throws -> AttestationPolicy {
        var policy = AttestationPolicy.hardware(platforms)
        policy.armCPAKs = [ccaInstanceID: try cpakPEM, psaInstanceID: try iakPEM]
        return policy
    }

    /// The sample's collection with its two signed tokens re-wrapped as a tag 907 CMW collection.
    static func asCMW(_ legacy: [UInt8]) throws -> [UInt8] {
        let collection = try CBORDecoder.decode(Array(legacy.dropFirst(3)), structure: "test")
        guard case .bytes(let platform)? = collection[.unsigned(44234)], case .bytes(let realm)? = collection[.unsigned(44241)] else {
            throw TestFailure("not a legacy collection")
        }
        return CCATokenBuilder.cmw(platform: platform, realm: realm)
    }
}

/// Makes CCA and PSA tokens under generated keys, with every claim changeable (generated negatives).
struct CCATokenBuilder {
    var cpak: ECDSAPrivateKey
    var rak: ECDSAPrivateKey
    var instanceID: [UInt8] = [0x01] + SecureRandom.bytes(count: 32)
    var lifecycle: UInt64 = 0x3000
    var realmChallenge: [UInt8] = Array(repeating: 0xAB, count: 64)
    var rim: [UInt8] = Array(repeating: 0x11, count: 32)
    var rems: [[UInt8]] = (0..<4).map { Array(repeating: UInt8(0x20 + $0), count: 32) }
    var rpv: [UInt8] = Array(repeating: 0x33, count: 64)
    /// The RAK claim; the RAK's raw point unless changed.
    var rakClaim: [UInt8]
    /// The platform challenge; SHA-256 of ``rakClaim`` unless changed.
    var platformChallenge: [UInt8]?
    var layout907 = true
    var platformExtra: [CBORValue.Entry] = []
    var realmExtra: [CBORValue.Entry] = []
    var removePlatformClaims: Set<UInt64> = []
    var removeRealmClaims: Set<UInt64> = []

    init(cpak: ECDSAPrivateKey? = nil) throws {
        self.cpak = try cpak ?? ECDSAPrivateKey.generate(curve: .p384)
        rak = try ECDSAPrivateKey.generate(curve: .p384)
        rakClaim = rak.publicKey.x962Representation
    }

    var cpakPEM: String { cpak.publicKey.pemRepresentation }
    var instanceHex: String { Hex.encode(instanceID) }

    /// A policy pinning this builder's CPAK.
    func policy(_ platforms: [EvidencePlatform] = [.cca]) -> AttestationPolicy {
        var policy = AttestationPolicy.hardware(platforms)
        policy.armCPAKs = [instanceHex: cpakPEM]
        return policy
    }

    func platformClaims() -> CBORValue {
        var entries: [CBORValue.Entry] = [
            .init(key: .unsigned(265), value: .text("http://arm.com/CCA-SSD/1.0.0")),
            .init(key: .unsigned(10), value: .bytes(platformChallenge ?? SHA2.sha256(rakClaim))),
            .init(key: .unsigned(2396), value: .bytes(Array(repeating: 0x7F, count: 32))),
            .init(key: .unsigned(256), value: .bytes(instanceID)),
            .init(key: .unsigned(2401), value: .bytes([0x01, 0x02])),
            .init(key: .unsigned(2395), value: .unsigned(lifecycle)),
            .init(key: .unsigned(2402), value: .text("sha-256")),
            .init(key: .unsigned(2399), value: .array([
                .map([
                    .init(key: .unsigned(1), value: .text("BL")),
                    .init(key: .unsigned(5), value: .bytes(Array(repeating: 0x55, count: 32))),
                    .init(key: .unsigned(4), value: .text("1.0")),
                    .init(key: .unsigned(2), value: .bytes(Array(repeating: 0x42, count: 32))),
                    .init(key: .unsigned(6), value: .text("sha-256")),
                ]),
            ])),
        ]
        entries.removeAll { if case .unsigned(let key) = $0.key { removePlatformClaims.contains(key) } else { false } }
        return .map(entries + platformExtra)
    }

    func realmClaims() -> CBORValue {
        var entries: [CBORValue.Entry] = [
            .init(key: .unsigned(10), value: .bytes(realmChallenge)),
            .init(key: .unsigned(44236), value: .text("sha-256")),
            .init(key: .unsigned(44240), value: .text("sha-256")),
            .init(key: .unsigned(44235), value: .bytes(rpv)),
            .init(key: .unsigned(44237), value: .bytes(rakClaim)),
            .init(key: .unsigned(44238), value: .bytes(rim)),
            .init(key: .unsigned(44239), value: .array(rems.map { .bytes($0) })),
        ]
        entries.removeAll { if case .unsigned(let key) = $0.key { removeRealmClaims.contains(key) } else { false } }
        return .map(entries + realmExtra)
    }

    /// `18([protected, {}, payload, signature])` signed by `key` (ES384 on P-384, ES256 on P-256).
    static func sign(_ payload: [UInt8], key: ECDSAPrivateKey) throws -> [UInt8] {
        let alg: CBORValue = key.curve == .p256 ? .negative(6) : .negative(34)
        let protected = CBORValue.map([.init(key: .unsigned(1), value: alg)]).encoded
        let toSign = CBORValue.array([.text("Signature1"), .bytes(protected), .bytes([]), .bytes(payload)]).encoded
        let signature = try key.signature(for: toSign, digest: key.curve.defaultDigest).rawRepresentation
        return [0xD2] + CBORValue.array([.bytes(protected), .map([]), .bytes(payload), .bytes(signature)]).encoded
    }

    func platformToken() throws -> [UInt8] { try Self.sign(platformClaims().encoded, key: cpak) }
    func realmToken() throws -> [UInt8] { try Self.sign(realmClaims().encoded, key: rak) }

    func token() throws -> [UInt8] {
        let (platform, realm) = (try platformToken(), try realmToken())
        return layout907 ? Self.cmw(platform: platform, realm: realm) : Self.legacy(platform: platform, realm: realm)
    }

    func evidence() throws -> Evidence { Evidence(platform: .cca, blob: try token(), certificates: []) }

    static func cmw(platform: [UInt8], realm: [UInt8]) -> [UInt8] {
        [0xD9, 0x03, 0x8B] + CBORValue.map([
            .init(key: .text("__cmwc_t"), value: .text("tag:arm.com,2023:cca#1.0.0")),
            .init(key: .unsigned(44234), value: .array([.unsigned(263), .bytes(platform)])),
            .init(key: .unsigned(44241), value: .array([.unsigned(263), .bytes(realm)])),
        ]).encoded
    }

    static func legacy(platform: [UInt8], realm: [UInt8]) -> [UInt8] {
        [0xD9, 0x01, 0x8F] + CBORValue.map([
            .init(key: .unsigned(44234), value: .bytes(platform)),
            .init(key: .unsigned(44241), value: .bytes(realm)),
        ]).encoded
    }
}

/// The refusal `body` throws, as an ``AttestationError`` (nil when it does not throw one).
func armError(_ body: () throws -> Void) -> AttestationError? {
    do {
        try body()
        return nil
    } catch let error as AttestationError {
        return error
    } catch {
        return nil
    }
}
