import EnclavaCrypto
import EnclavaImage
import Testing
@testable import EnclaveSealing

/// A platform stand-in: its key is `HKDF(secret, info: backend ‖ policy ‖ binding ‖ tcb)`, so another secret
/// (machine), binding (measurement) or TCB gives another key, as the real backends' derivations do.
struct FakeKeySource: SealedStateKeySource {
    var backend = "sim"
    var secret: [UInt8] = Array(repeating: 0x5A, count: 32)
    var binding: [UInt8] = Array(repeating: 0x11, count: 48)
    var tcb: [UInt8] = [3, 0, 0, 0, 0, 0, 8, 115]
    var supportsSigner = false
    var failure: (any Error & Sendable)?

    func sealedStateKey(policy: SealingPolicy) throws -> SealedStateKey {
        if let failure { throw failure }
        guard policy == .measurement || supportsSigner else {
            throw SealedStateError(.policyUnsupported, "fake: measurement only")
        }
        let key = try HKDF.deriveKey(.sha256, ikm: SecureBytes(secret), salt: [],
                                     info: Array(backend.utf8) + [policy.rawValue] + binding + tcb, length: 32)
        return try SealedStateKey(key: key, backend: backend, policy: policy, binding: binding, tcb: tcb)
    }
}

struct NotASealedStateError: Error, Sendable {}

@Suite struct SealedStateTests {
    static let digest = SHA2.sha384(Array("manifest".utf8))
    static let dek = SecureBytes((0..<32).map { UInt8($0) })

    static func blob(_ source: FakeKeySource = FakeKeySource(), sealTo: Manifest.SealTo = .measurement) throws -> [UInt8] {
        try SealedRestart.makeState(dek: dek, manifestDigest: digest, sealTo: sealTo, platform: source)
    }

    static func open(_ blob: [UInt8], _ source: FakeKeySource = FakeKeySource(), digest: [UInt8] = digest,
                     sealTo: Manifest.SealTo = .measurement) -> Result<SecureBytes, SealedStateError> {
        SealedRestart.openState(blob: blob, manifestDigest: digest, sealTo: sealTo, platform: source)
    }

    static func code(_ result: Result<SecureBytes, SealedStateError>) -> SealedStateError.Code? {
        if case .failure(let error) = result { return error.code }
        return nil
    }

    @Test func aBlobOpensOnTheSamePlatformAndHasTheDocumentedLayout() throws {
        let blob = try Self.blob()
        #expect(try Self.open(blob).get() == Self.dek)
        // magic 8, version 2, policy 1, backend 1+3, binding 1+48, tcb 1+8, digest 48, nonce 12, length 4, 48.
        #expect(blob.count == 8 + 2 + 1 + 4 + 49 + 9 + 48 + 12 + 4 + 48)
        #expect(Array(blob[0..<8]) == Array("ENCLSEAL".utf8) && blob[8] == 0 && blob[9] == 1 && blob[10] == 1)
        let state = try SealedState(parsing: blob)
        #expect(state.backend == "sim" && state.policy == .measurement && state.manifestDigest == Self.digest)
        #expect(state.binding == FakeKeySource().binding && state.tcb == FakeKeySource().tcb)
        #expect(state.serialized == blob)
        #expect(Array(blob.suffix(52).prefix(4)) == [0, 0, 0, 48])
        // Two seals of the same key differ (fresh nonce), and both open.
        let again = try Self.blob()
        #expect(again != blob)
        #expect(try Self.open(again).get() == Self.dek)
    }

    @Test func structuralDamageIsNamed() throws {
        let blob = try Self.blob()
        var badMagic = blob
        badMagic[0] ^= 0x01
        #expect(Self.code(Self.open(badMagic)) == .badMagic)
        #expect(Self.code(Self.open([])) == .badMagic)
        #expect(Self.code(Self.open(Array("{\"dek\": 1}".utf8))) == .badMagic)

        var version = blob
        version[9] = 2
        let unknown = Self.open(version)
        #expect(Self.code(unknown) == .unsupportedVersion)
        #expect((try? unknown.get()) == nil)

        #expect(Self.code(Self.open(blob + [0])) == .trailingBytes)
        #expect(Self.code(Self.open(blob + [UInt8](repeating: 0, count: 200))) == .trailingBytes)
        #expect(Self.code(Self.open(blob + [UInt8](repeating: 0, count: 400))) == .tooLarge)
        #expect(Self.code(Self.open([UInt8](repeating: 0x41, count: 1 << 20))) == .tooLarge)

        var policy = blob
        policy[10] = 7
        #expect(Self.code(Self.open(policy)) == .malformed)
    }

    /// Every prefix of a blob is "truncated" (an empty one is not a sealed state at all).
    @Test func everyTruncationIsTruncated() throws {
        let blob = try Self.blob()
        for length in 1..<blob.count {
            let result = Self.open(Array(blob.prefix(length)))
            #expect(Self.code(result) == .truncated, "cut at \(length) bytes")
        }
    }

    /// Length fields a hostile host sets to huge or impossible values are refused before anything is read.
    @Test func enormousLengthFieldsAreMalformedNotAllocated() throws {
        let blob = try Self.blob()
        let lengthAt = blob.count - 48 - 4
        var enormous = blob
        enormous.replaceSubrange(lengthAt..<(lengthAt + 4), with: [0xFF, 0xFF, 0xFF, 0xFF])
        let result = Self.open(enormous)
        #expect(Self.code(result) == .malformed)
        if case .failure(let error) = result { #expect(error.message.contains("4294967295")) }
        var short = blob
        short.replaceSubrange(lengthAt..<(lengthAt + 4), with: [0, 0, 0, 16])
        #expect(Self.code(Self.open(short)) == .malformed)

        // backend length at 11, binding length after "sim".
        for (offset, value) in [(11, UInt8(0)), (11, 17), (11, 0xFF), (15, 0), (15, 65), (15, 0xFF), (64, 65), (64, 0xFF)] {
            var damaged = blob
            damaged[offset] = value
            #expect(Self.code(Self.open(damaged)) == .malformed, "length byte \(offset) = \(value)")
        }
        var badName = blob
        badName[12] = UInt8(ascii: "S")
        #expect(Self.code(Self.open(badName)) == .malformed)
    }

    @Test func aBlobForAnotherImageBackendPolicyOrEnclaveIsRefusedByName() throws {
        let blob = try Self.blob()
        #expect(Self.code(Self.open(blob, digest: SHA2.sha384(Array("other manifest".utf8)))) == .otherImage)
        #expect(Self.code(Self.open(blob, FakeKeySource(backend: "sev-snp"))) == .otherBackend)
        var signerCapable = FakeKeySource()
        signerCapable.supportsSigner = true
        #expect(Self.code(Self.open(blob, signerCapable, sealTo: .signer)) == .otherPolicy)
        let rebuilt = FakeKeySource(binding: Array(repeating: 0x22, count: 48))
        let other = Self.open(blob, rebuilt)
        #expect(Self.code(other) == .otherEnclave)
        if case .failure(let error) = other { #expect(error.message.contains("1111111111111111")) }
    }

    @Test func aTCBChangeIsNamedAsAnUpdateOrARollback() throws {
        let blob = try Self.blob()
        let updated = Self.open(blob, FakeKeySource(tcb: [3, 0, 0, 0, 0, 0, 9, 115]))
        #expect(Self.code(updated) == .tcbChanged)
        if case .failure(let error) = updated { #expect(error.message.contains("updated since")) }
        let rolledBack = Self.open(blob, FakeKeySource(tcb: [3, 0, 0, 0, 0, 0, 7, 115]))
        #expect(Self.code(rolledBack) == .tcbChanged)
        if case .failure(let error) = rolledBack { #expect(error.message.contains("newer TCB")) }
    }

    /// Same claims, another machine's key: only the AEAD can tell, and it does. A host that rewrites the claims
    /// to match this platform changes the AAD, so that fails the same way.
    @Test func anotherMachinesKeyOrRewrittenClaimsFailTheAEAD() throws {
        let blob = try Self.blob()
        let otherChip = FakeKeySource(secret: Array(repeating: 0xA5, count: 32))
        #expect(Self.code(Self.open(blob, otherChip)) == .unsealFailed)

        let newTCB: [UInt8] = [3, 0, 0, 0, 0, 0, 9, 115]
        var claimed = blob
        claimed.replaceSubrange(65..<73, with: newTCB)
        #expect(Self.code(Self.open(claimed, FakeKeySource(tcb: newTCB))) == .unsealFailed)

        // Another image's blob with its manifest digest rewritten to this image's.
        let otherDigest = SHA2.sha384(Array("other manifest".utf8))
        var foreign = try SealedRestart.makeState(dek: SecureBytes.random(count: 32), manifestDigest: otherDigest,
                                                  sealTo: .measurement, platform: FakeKeySource())
        let digestAt = 8 + 2 + 1 + 4 + 49 + 9
        #expect(Array(foreign[digestAt..<(digestAt + 48)]) == otherDigest)
        foreign.replaceSubrange(digestAt..<(digestAt + 48), with: Self.digest)
        #expect(Self.code(Self.open(foreign)) == .unsealFailed)
    }

    /// Every single-bit flip anywhere in the blob is refused; none yields a key.
    @Test func everyBitFlipIsRefused() throws {
        let blob = try Self.blob()
        var codes = Set<SealedStateError.Code>()
        for index in blob.indices {
            for bit in 0..<8 {
                var flipped = blob
                flipped[index] ^= UInt8(1 << bit)
                let result = Self.open(flipped)
                #expect((try? result.get()) == nil, "byte \(index) bit \(bit) opened")
                if let code = Self.code(result) { codes.insert(code) }
            }
        }
        #expect(codes.isSubset(of: [.badMagic, .unsupportedVersion, .malformed, .truncated, .trailingBytes, .otherBackend,
                                    .otherEnclave, .tcbChanged, .otherImage, .otherPolicy, .unsealFailed]))
        #expect(codes.contains(.unsealFailed) && codes.contains(.otherImage) && codes.contains(.tcbChanged))
    }

    @Test func whatCannotBeSealedIsAnArgumentError() throws {
        let short = #expect(throws: SealedStateError.self) {
            try SealedRestart.makeState(dek: SecureBytes(count: 16), manifestDigest: Self.digest, sealTo: .measurement,
                                        platform: FakeKeySource())
        }
        #expect(short?.code == .invalidArgument)
        let digest = #expect(throws: SealedStateError.self) {
            try SealedRestart.makeState(dek: Self.dek, manifestDigest: Array(Self.digest.prefix(47)), sealTo: .measurement,
                                        platform: FakeKeySource())
        }
        #expect(digest?.code == .invalidArgument)
        let signer = #expect(throws: SealedStateError.self) { try Self.blob(sealTo: .signer) }
        #expect(signer?.code == .policyUnsupported)
    }

    /// The platform's answer comes first: without a sealing key even a garbage blob says so; a platform failure
    /// that is not a sealed-state error becomes `.keyUnavailable`.
    @Test func platformAnswersComeThrough() throws {
        var tdx = FakeKeySource(backend: "tdx")
        tdx.failure = SealedStateError(.noSealingKey, "TDX has no sealing key; every start is a release")
        #expect(Self.code(Self.open([1, 2, 3], tdx)) == .noSealingKey)
        let refused = #expect(throws: SealedStateError.self) { try Self.blob(tdx) }
        #expect(refused?.code == .noSealingKey)
        var broken = FakeKeySource()
        broken.failure = NotASealedStateError()
        #expect(Self.code(Self.open(try Self.blob(), broken)) == .keyUnavailable)
        let failed = #expect(throws: SealedStateError.self) { try Self.blob(broken) }
        #expect(failed?.code == .keyUnavailable)
    }

    @Test func keysWithImpossibleBindingsAreRefused() throws {
        let key = SecureBytes(count: 32)
        for (backend, binding, tcb, size) in [("sim", [UInt8](repeating: 1, count: 48), [UInt8](), 31),
                                              ("SIM", [1], [], 32), ("", [1], [], 32),
                                              ("a-very-long-backend", [1], [], 32), ("sim", [], [], 32),
                                              ("sim", [UInt8](repeating: 1, count: 65), [], 32),
                                              ("sim", [1], [UInt8](repeating: 1, count: 65), 32)] {
            let error = #expect(throws: SealedStateError.self) {
                try SealedStateKey(key: size == 32 ? key : SecureBytes(count: size), backend: backend, policy: .measurement,
                                   binding: binding, tcb: tcb)
            }
            #expect(error?.code == .keyUnavailable)
        }
    }
}
