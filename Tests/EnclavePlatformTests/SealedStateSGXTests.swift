import EnclavaAttestation
import EnclavaCrypto
import EnclavaImage
import EnclaveSealing
import Testing
@testable import EnclavePlatform

/// Sealed restart under Gramine-SGX through a fake `/dev/attestation` tree (``FakeGramine``): the key files stand
/// for EGETKEY's answers, the quote for the enclave's identity and TCB.
@Suite struct SealedStateSGXTests {
    static let digest = SHA2.sha384(Array("sgx image manifest".utf8))
    static let dek = SecureBytes.random(count: 32)

    /// An enclave whose quote carries `mrEnclave` and `cpuSVN` (the real sample's when nil) and whose Gramine
    /// holds the given sealing keys. Keep the ``FakeGramine`` alive as long as the platform is used.
    static func enclave(mrEnclave: [UInt8]? = nil, cpuSVN: [UInt8]? = nil, enclaveKey: [UInt8]?, signerKey: [UInt8]?)
        throws -> (FakeGramine, GramineSGXPlatform) {
        var quote = try PlatformTestData.sgxQuote()
        let parsed = try SGXQuote(parsing: quote)
        let offset = try #require(PlatformTestData.reportDataOffset(in: quote, reportData: parsed.body.reportData))
        if let cpuSVN { quote.replaceSubrange(48..<64, with: cpuSVN) }
        if let mrEnclave { quote.replaceSubrange(112..<144, with: mrEnclave) }
        let fixed = quote
        let gramine = try FakeGramine(mrenclaveKey: enclaveKey, mrsignerKey: signerKey)
        gramine.configure { $0.quote = { PlatformTestData.quote(fixed, withReportData: $0, offset: offset) } }
        return (gramine, try GramineSGXPlatform(attestation: gramine.attestation, sealingPolicy: .mrenclave))
    }

    static func open(_ blob: [UInt8], _ platform: GramineSGXPlatform, _ sealTo: Manifest.SealTo)
        -> SealedStateError.Code? {
        switch SealedRestart.openState(blob: blob, manifestDigest: digest, sealTo: sealTo, platform: platform) {
        case .success(let opened): return opened == dek ? nil : .unsealFailed
        case .failure(let error): return error.code
        }
    }

    static func seal(_ platform: GramineSGXPlatform, _ sealTo: Manifest.SealTo) throws -> [UInt8] {
        try SealedRestart.makeState(dek: dek, manifestDigest: digest, sealTo: sealTo, platform: platform)
    }

    @Test func measurementPolicyUsesMRENCLAVEAndAnotherMachineCannotOpen() throws {
        let signerKey = SecureRandom.bytes(count: 16)
        let (gramine, platform) = try Self.enclave(enclaveKey: SecureRandom.bytes(count: 16), signerKey: signerKey)
        let blob = try Self.seal(platform, .measurement)
        #expect(Self.open(blob, platform, .measurement) == nil)
        let state = try SealedState(parsing: blob)
        #expect(state.backend == "sgx" && state.policy == .measurement && state.binding == platform.measurement)
        #expect(state.tcb == platform.cpuSVN + [UInt8(platform.isvSVN & 0xFF), UInt8(platform.isvSVN >> 8)])
        let (otherGramine, otherMachine) = try Self.enclave(enclaveKey: SecureRandom.bytes(count: 16),
                                                            signerKey: SecureRandom.bytes(count: 16))
        #expect(Self.open(blob, otherMachine, .measurement) == .unsealFailed)
        withExtendedLifetime((gramine, otherGramine)) {}
    }

    /// seal_to = "signer": a rebuilt enclave (new MRENCLAVE, same signer and product) opens the state; with
    /// seal_to = "measurement" it cannot.
    @Test func signerPolicySurvivesARebuildAndMeasurementPolicyDoesNot() throws {
        let signerKey = SecureRandom.bytes(count: 16)
        let (gramine, v1) = try Self.enclave(enclaveKey: SecureRandom.bytes(count: 16), signerKey: signerKey)
        let (rebuiltGramine, v2) = try Self.enclave(mrEnclave: [UInt8](repeating: 0x42, count: 32),
                                                    enclaveKey: SecureRandom.bytes(count: 16), signerKey: signerKey)
        #expect(v1.measurement != v2.measurement && v1.mrSigner == v2.mrSigner)
        let bySigner = try Self.seal(v1, .signer)
        #expect(try SealedState(parsing: bySigner).binding == v1.mrSigner + [UInt8(v1.isvProdID & 0xFF), UInt8(v1.isvProdID >> 8)])
        #expect(Self.open(bySigner, v2, .signer) == nil)
        #expect(Self.open(try Self.seal(v1, .measurement), v2, .measurement) == .otherEnclave)
        withExtendedLifetime((gramine, rebuiltGramine)) {}
    }

    @Test func aMicrocodeUpdateChangesTheTCBAndTheBlobFalls() throws {
        let keys = (SecureRandom.bytes(count: 16), SecureRandom.bytes(count: 16))
        let (gramine, before) = try Self.enclave(enclaveKey: keys.0, signerKey: keys.1)
        let newer = before.cpuSVN.map { $0 &+ 1 }
        let (updatedGramine, after) = try Self.enclave(cpuSVN: newer, enclaveKey: keys.0, signerKey: keys.1)
        #expect(Self.open(try Self.seal(before, .measurement), after, .measurement) == .tcbChanged)
        #expect(Self.open(try Self.seal(before, .signer), after, .signer) == .tcbChanged)
        withExtendedLifetime((gramine, updatedGramine)) {}
    }

    @Test func aMissingKeyFileIsNamed() throws {
        let (gramine, platform) = try Self.enclave(enclaveKey: nil, signerKey: [1, 2, 3])
        let missing = #expect(throws: SealedStateError.self) { try Self.seal(platform, .measurement) }
        #expect(missing?.code == .keyUnavailable && missing?.message.contains("_sgx_mrenclave") == true)
        let short = #expect(throws: SealedStateError.self) { try Self.seal(platform, .signer) }
        #expect(short?.code == .keyUnavailable && short?.message.contains("3 bytes") == true)
        withExtendedLifetime(gramine) {}
    }
}
