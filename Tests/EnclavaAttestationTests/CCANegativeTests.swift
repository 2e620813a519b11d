import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavaAttestation

/// Generated negatives for Arm CCA and PSA tokens, as the other formats have: a flipped bit in every byte of the
/// real tokens, named flips refused with their specific code, truncation, swapped tokens, a RAK the platform
/// challenge does not vouch for, an unknown or wrong CPAK, debug lifecycles and malformed claims.
@Suite struct CCANegativeTests {
    let verifier = EvidenceVerifier()

    func cca(_ blob: [UInt8], policy: AttestationPolicy? = nil) -> AttestationError? {
        armError { _ = try verifier.verifyEvidence(Evidence(platform: .cca, blob: blob, certificates: []),
                                                   policy: try policy ?? ArmSamples.policy([.cca])) }
    }

    func psa(_ blob: [UInt8]) -> AttestationError? {
        armError { _ = try verifier.verifyEvidence(Evidence(platform: .psa, blob: blob, certificates: []), policy: try ArmSamples.policy([.psa])) }
    }

    /// Where `needle` starts in `haystack`.
    func offset(of needle: [UInt8], in haystack: [UInt8]) throws -> Int {
        for start in 0...(haystack.count - needle.count) where Array(haystack[start..<(start + needle.count)]) == needle { return start }
        throw TestFailure("not found")
    }

    func flipped(_ bytes: [UInt8], at index: Int, bit: Int = 0) -> [UInt8] {
        var copy = bytes
        copy[index] ^= UInt8(1 << bit)
        return copy
    }

    /// One bit of every byte of the real CCA and PSA tokens: nothing verifies, and every refusal is one of the
    /// codes a change there can cause.
    @Test func aFlippedBitAnywhereIsRefused() throws {
        let allowed: Set<AttestationError.Code> = [.malformedEvidence, .signatureInvalid, .untrustedRoot, .platformChallengeMismatch]
        for (name, token, platform) in [("cca", try ArmSamples.cca, EvidencePlatform.cca), ("psa", try ArmSamples.psa2, .psa),
                                        ("psa-iot", try ArmSamples.psaIoT, .psa)] {
            for index in token.indices {
                let changed = flipped(token, at: index, bit: index % 8)
                let error = platform == .cca ? cca(changed) : psa(changed)
                #expect(error.map { allowed.contains($0.code) } == true, "\(name) byte \(index): \(String(describing: error))")
            }
        }
    }

    /// Named flips in each signed part are refused with their specific code and field.
    @Test func flipsInEachSignedPartHaveTheirSpecificRefusal() throws {
        let token = try ArmSamples.cca
        let realmSignature = try offset(of: hex("f3c498df6a8bbcc5"), in: token)
        let platformSignature = try offset(of: hex("201d3035e1cfa52a"), in: token)
        let rim = try offset(of: [0x19, 0xAC, 0xCE, 0x58, 0x20], in: token) + 5  // 44238: bstr(32)
        let challenge = try offset(of: hex(ArmSamples.ccaChallenge), in: token)
        let component = try offset(of: [0x02, 0x58, 0x20] + hex(ArmSamples.componentMeasurement), in: token) + 3  // key 2: measurement
        let instance = try offset(of: hex(ArmSamples.ccaInstanceID), in: token)
        let protected = try offset(of: hex("a1013822"), in: token)

        let cases: [(String, Int, AttestationError.Code, String)] = [
            ("platform signature", platformSignature + 10, .signatureInvalid, "platform.COSE_Sign1.signature"),
            ("platform challenge", challenge + 3, .signatureInvalid, "platform.COSE_Sign1.signature"),
            ("platform sw component", component + 7, .signatureInvalid, "platform.COSE_Sign1.signature"),
            ("platform instance id", instance + 9, .untrustedRoot, "platform.instance_id"),
            ("platform protected alg", protected + 3, .malformedEvidence, "platform.COSE_Sign1.protected.alg"),
            ("realm RIM", rim + 1, .signatureInvalid, "realm.COSE_Sign1.signature"),
            ("realm signature", realmSignature + 40, .signatureInvalid, "realm.COSE_Sign1.signature"),
        ]
        for (name, index, code, field) in cases {
            let error = cca(flipped(token, at: index))
            #expect(error?.code == code && error?.field == field, "\(name): \(String(describing: error))")
        }
        let psaToken = try ArmSamples.psa2
        let psaSignature = psaToken.count - 10
        #expect(psa(flipped(psaToken, at: psaSignature))?.field == "psa.COSE_Sign1.signature")
    }

    @Test func everyTruncationIsMalformed() throws {
        for token in [try ArmSamples.cca, try ArmSamples.psa2] {
            let platform: EvidencePlatform = token.count == 1222 ? .cca : .psa
            for length in 0..<token.count {
                let error = platform == .cca ? cca(Array(token.prefix(length))) : psa(Array(token.prefix(length)))
                #expect(error?.code == .malformedEvidence, "\(platform) length \(length): \(String(describing: error))")
            }
        }
    }

    @Test func unknownOrWrongCPAKIsRefused() throws {
        let token = try ArmSamples.cca
        let none = cca(token, policy: .hardware([.cca]))
        #expect(none?.code == .untrustedRoot && none?.field == "platform.instance_id" && none?.actual == ArmSamples.ccaInstanceID)
        var other = AttestationPolicy.hardware([.cca])
        other.armCPAKs = [ArmSamples.psaInstanceID: try ArmSamples.iakPEM]
        #expect(cca(token, policy: other)?.code == .untrustedRoot)
        var impostor = AttestationPolicy.hardware([.cca])
        impostor.armCPAKs = [ArmSamples.ccaInstanceID: try ECDSAPrivateKey.generate(curve: .p384).publicKey.pemRepresentation]
        let wrongKey = cca(token, policy: impostor)
        #expect(wrongKey?.code == .signatureInvalid && wrongKey?.field == "platform.COSE_Sign1.signature")
        var wrongCurve = AttestationPolicy.hardware([.cca])
        wrongCurve.armCPAKs = [ArmSamples.ccaInstanceID: try ArmSamples.iakPEM]
        let curve = cca(token, policy: wrongCurve)
        #expect(curve?.code == .signatureInvalid && curve?.actual == "a P-256 key")
    }

    /// A realm token moved from another CCA token (or the sample's realm under a generated platform token) is not
    /// vouched for by the platform token's challenge.
    @Test func swappedTokensAreRefused() throws {
        let cpak = try ECDSAPrivateKey.generate(curve: .p384)
        var a = try CCATokenBuilder(cpak: cpak)
        var b = try CCATokenBuilder(cpak: cpak)
        b.instanceID = a.instanceID
        _ = try verifier.verifyEvidence(try a.evidence(), policy: a.policy())
        let mixed = CCATokenBuilder.cmw(platform: try a.platformToken(), realm: try b.realmToken())
        let error = cca(mixed, policy: a.policy())
        #expect(error?.code == .platformChallengeMismatch && error?.field == "platform.challenge")
        #expect(error?.expected == Hex.encode(SHA2.sha256(b.rakClaim)) && error?.actual == Hex.encode(SHA2.sha256(a.rakClaim)))

        let sample = try CBORDecoder.decode(Array(try ArmSamples.cca.dropFirst(3)), structure: "test")
        guard case .bytes(let sampleRealm)? = sample[.unsigned(44241)], case .bytes(let samplePlatform)? = sample[.unsigned(44234)] else {
            throw TestFailure("sample layout")
        }
        a.layout907 = false
        #expect(cca(CCATokenBuilder.legacy(platform: try a.platformToken(), realm: sampleRealm), policy: a.policy())?.code
                == .platformChallengeMismatch)
        var both = a.policy()
        both.armCPAKs[ArmSamples.ccaInstanceID] = try ArmSamples.cpakPEM
        #expect(cca(CCATokenBuilder.legacy(platform: samplePlatform, realm: try a.realmToken()), policy: both)?.code
                == .platformChallengeMismatch)
        // The PSA token in the platform slot, and the platform token given as a realm token.
        let psaSlot = cca(CCATokenBuilder.legacy(platform: try ArmSamples.psa2, realm: sampleRealm))
        #expect(psaSlot?.code == .malformedEvidence && psaSlot?.field == "platform.profile")
        let swapped = cca(CCATokenBuilder.legacy(platform: sampleRealm, realm: samplePlatform))
        #expect(swapped?.code == .malformedEvidence && swapped?.field == "platform.profile")
    }

    @Test func aRAKThePlatformChallengeDoesNotVouchForIsRefused() throws {
        var builder = try CCATokenBuilder()
        builder.platformChallenge = SHA2.sha256(try ECDSAPrivateKey.generate(curve: .p384).publicKey.x962Representation)
        let error = cca(try builder.token(), policy: builder.policy())
        #expect(error?.code == .platformChallengeMismatch && error?.field == "platform.challenge")
        // A realm signed by another key than the RAK it names.
        var forged = try CCATokenBuilder()
        forged.rak = try ECDSAPrivateKey.generate(curve: .p384)
        let signature = cca(try forged.token(), policy: forged.policy())
        #expect(signature?.code == .signatureInvalid && signature?.field == "realm.COSE_Sign1.signature")
    }

    @Test(arguments: [UInt64(0x0000), 0x1000, 0x2000, 0x4000, 0x5001, 0x6000, 0x7000])
    func nonSecuredLifecyclesAreRefusedByDefault(lifecycle: UInt64) throws {
        var builder = try CCATokenBuilder()
        builder.lifecycle = lifecycle
        let error = cca(try builder.token(), policy: builder.policy())
        #expect(error?.code == .debugNotAllowed && error?.field == "platform.lifecycle")
        var allow = builder.policy()
        allow.allowDebug = true
        let attested = try verifier.verifyEvidence(try builder.evidence(), policy: allow)
        #expect(attested.isDebug)
    }

    @Test func securedLifecycleAndBothLayoutsVerify() throws {
        var builder = try CCATokenBuilder()
        builder.lifecycle = 0x30FF
        for layout907 in [true, false] {
            builder.layout907 = layout907
            let attested = try verifier.verifyEvidence(try builder.evidence(), policy: builder.policy())
            #expect(!attested.isDebug && attested.armToken?.token.layout == (layout907 ? .cmwCollection : .legacy))
        }
        let p256 = try CCATokenBuilder(cpak: try ECDSAPrivateKey.generate(curve: .p256))
        #expect(try verifier.verifyEvidence(try p256.evidence(), policy: p256.policy()).armToken?.token.platformCOSE.algorithm == COSESign1.es256)
    }

    /// Each missing or malformed claim names itself.
    @Test func malformedClaimsNameTheirField() throws {
        func refusal(_ change: (inout CCATokenBuilder) throws -> Void) throws -> AttestationError? {
            var builder = try CCATokenBuilder()
            try change(&builder)
            return cca(try builder.token(), policy: builder.policy())
        }
        let cases: [(String, (inout CCATokenBuilder) throws -> Void, String)] = [
            ("no RIM", { $0.removeRealmClaims = [44238] }, "realm.rim"),
            ("short RIM", { $0.rim = [1, 2, 3] }, "realm.rim"),
            ("three REMs", { $0.rems.removeLast() }, "realm.rem"),
            ("short challenge", { $0.realmChallenge = Array(repeating: 1, count: 32) }, "realm.challenge"),
            ("no RPV", { $0.removeRealmClaims = [44235] }, "realm.personalization_value"),
            ("RAK not a point", { $0.rakClaim = [0x04] + Array(repeating: 7, count: 96) }, "realm.public_key"),
            ("unknown hash", { $0.realmExtra = []; $0.removeRealmClaims = [44236]; $0.realmExtra = [.init(key: .unsigned(44236), value: .text("md5"))] }, "realm.hash_algo_id"),
            ("no instance id", { $0.removePlatformClaims = [256] }, "platform.instance_id"),
            ("no lifecycle", { $0.removePlatformClaims = [2395] }, "platform.lifecycle"),
            ("no components", { $0.removePlatformClaims = [2399] }, "platform.sw_components"),
            ("no implementation id", { $0.removePlatformClaims = [2396] }, "platform.implementation_id"),
        ]
        for (name, change, field) in cases {
            let error = try refusal(change)
            #expect(error?.code == .malformedEvidence && error?.field == field, "\(name): \(String(describing: error))")
        }
    }

    @Test func malformedCollectionsNameTheirField() throws {
        let builder = try CCATokenBuilder()
        let (platform, realm) = (try builder.platformToken(), try builder.realmToken())
        func collection(_ tag: [UInt8], _ entries: [CBORValue.Entry]) -> [UInt8] { tag + CBORValue.map(entries).encoded }
        let type = CBORValue.Entry(key: .text("__cmwc_t"), value: .text("tag:arm.com,2023:cca#1.0.0"))
        let p = CBORValue.Entry(key: .unsigned(44234), value: .array([.unsigned(263), .bytes(platform)]))
        let r = CBORValue.Entry(key: .unsigned(44241), value: .array([.unsigned(263), .bytes(realm)]))
        let cases: [([UInt8], String)] = [
            (collection([0xD9, 0x03, 0x8C], [type, p, r]), "collection"),  // tag 908
            (collection([0xD9, 0x03, 0x8B], [p, r]), "collection.__cmwc_t"),
            (collection([0xD9, 0x03, 0x8B], [type, p]), "collection.realm"),
            (collection([0xD9, 0x03, 0x8B], [type, p, r, .init(key: .unsigned(44242), value: .bytes([]))]), "collection"),
            (collection([0xD9, 0x03, 0x8B], [type, .init(key: .unsigned(44234), value: .array([.unsigned(60), .bytes(platform)])), r]), "collection.platform.type"),
            (collection([0xD9, 0x01, 0x8F], [p, r]), "collection.platform"),
        ]
        for (blob, field) in cases {
            let error = cca(blob, policy: builder.policy())
            #expect(error?.code == .malformedEvidence && error?.field == field, "\(field): \(String(describing: error))")
        }
        #expect(cca(Array(repeating: 0, count: ArmToken.maxBytes + 1))?.field == "token")
    }
}
