import EnclavaAttestation
import EnclavaCrypto
import EnclaveSealing
import Testing
@testable import EnclavePlatform

/// Sealed restart on SEV-SNP through the fake `/dev/sev-guest` (``FakeSEVGuestDevice``), whose firmware mixes the
/// chip secret, guest policy, measurement and requested TCB version into each derived key.
@Suite struct SealedStateSNPTests {
    static let digest = SHA2.sha384(Array("snp image manifest".utf8))
    static let dek = SecureBytes.random(count: 32)
    static let old = TCBVersion(bootLoader: 3, tee: 0, snp: 8, microcode: 115)
    static let patched = TCBVersion(bootLoader: 3, tee: 0, snp: 9, microcode: 115)

    /// A guest on `device` whose reports (and launch fields the firmware mixes in) carry `committed` and `measurement`.
    static func guest(_ device: FakeSEVGuestDevice, committed: TCBVersion = old,
                      measurement: [UInt8] = [UInt8](repeating: 0x11, count: 48)) throws -> SNPPlatform {
        var report = try PlatformTestData.snpSample().report
        report.replaceSubrange(0x1E0..<0x1E8, with: LittleEndian.bytes(committed.rawValue))
        report.replaceSubrange(0x90..<0xC0, with: measurement)
        let fixed = report
        device.configure {
            $0.report = { data, _ in PlatformTestData.snpReport(fixed, withReportData: data) }
            $0.committedTCB = committed.rawValue
            $0.measurement = measurement
        }
        return try SNPPlatform(configFS: nil, sevGuest: SEVGuest(device: device) { _ in })
    }

    static func seal(on platform: SNPPlatform) throws -> [UInt8] {
        try SealedRestart.makeState(dek: dek, manifestDigest: digest, sealTo: .measurement, platform: platform)
    }

    static func open(_ blob: [UInt8], on platform: SNPPlatform) -> Result<SecureBytes, SealedStateError> {
        SealedRestart.openState(blob: blob, manifestDigest: digest, sealTo: .measurement, platform: platform)
    }

    static func code(_ result: Result<SecureBytes, SealedStateError>) -> SealedStateError.Code? {
        if case .failure(let error) = result { return error.code }
        return nil
    }

    @Test func theKeyIsAVCEKDerivedKeyOverPolicyMeasurementAndTheCommittedTCB() throws {
        let device = FakeSEVGuestDevice()
        let platform = try Self.guest(device)
        let blob = try Self.seal(on: platform)
        #expect(try Self.open(blob, on: platform).get() == Self.dek)
        let request = try #require(device.snapshot.keyRequests.last)
        #expect(request.rootKey == .vcek && request.fields == [.guestPolicy, .measurement, .tcbVersion])
        #expect(request.tcbVersion == Self.old.rawValue && request.vmpl == platform.vmpl)
        let state = try SealedState(parsing: blob)
        #expect(state.backend == "sev-snp" && state.binding == platform.measurement && state.tcb == Self.old.bytes)
        // The same guest restarted (a new platform object on the same chip) opens it.
        #expect(try Self.open(blob, on: Self.guest(device)).get() == Self.dek)
    }

    @Test func anotherChipCannotOpenIt() throws {
        let blob = try Self.seal(on: Self.guest(FakeSEVGuestDevice()))
        let otherChip = try Self.guest(FakeSEVGuestDevice())
        #expect(Self.code(Self.open(blob, on: otherChip)) == .unsealFailed)
    }

    /// A firmware update moves the committed TCB: the old blob is refused (the key for the old TCB is never asked
    /// for), and the enclave falls back to a release. A blob from newer firmware on rolled-back firmware likewise.
    @Test func aChangedTCBMakesTheOldBlobFail() throws {
        let device = FakeSEVGuestDevice()
        let before = try Self.guest(device, committed: Self.old)
        let blob = try Self.seal(on: before)
        let after = try Self.guest(device, committed: Self.patched)
        let asked = device.snapshot.keyRequests.count
        let updated = Self.open(blob, on: after)
        #expect(Self.code(updated) == .tcbChanged)
        if case .failure(let error) = updated { #expect(error.message.contains("updated since")) }
        let requests = device.snapshot.keyRequests.dropFirst(asked)
        #expect(!requests.isEmpty && requests.allSatisfy { $0.tcbVersion == Self.patched.rawValue }, "never the old TCB's key")
        #expect(try after.sealedStateKey(policy: .measurement).key != before.sealedStateKey(policy: .measurement).key)

        // A host that rewrites the TCB claim to the current one changes the authenticated header: no key.
        var claimed = blob
        let tcbAt = 8 + 2 + 1 + 1 + 7 + 1 + 48 + 1
        claimed.replaceSubrange(tcbAt..<(tcbAt + 8), with: Self.patched.bytes)
        #expect(Self.code(Self.open(claimed, on: after)) == .unsealFailed)

        let newer = try Self.seal(on: after)
        let rolledBack = Self.open(newer, on: try Self.guest(device, committed: Self.old))
        #expect(Self.code(rolledBack) == .tcbChanged)
        if case .failure(let error) = rolledBack { #expect(error.message.contains("newer TCB")) }
    }

    @Test func anotherMeasurementOrGuestPolicyCannotOpenIt() throws {
        let device = FakeSEVGuestDevice()
        let blob = try Self.seal(on: Self.guest(device))
        let rebuilt = try Self.guest(device, measurement: [UInt8](repeating: 0x22, count: 48))
        #expect(Self.code(Self.open(blob, on: rebuilt)) == .otherEnclave)
        // Same measurement and TCB, launched with another guest policy (e.g. debug): the firmware's key differs.
        let sameLaunch = try Self.guest(device)
        device.configure { $0.policy |= 1 << 19 }
        #expect(Self.code(Self.open(blob, on: sameLaunch)) == .unsealFailed)
    }

    @Test func sealToSignerIsRefusedOnSEVSNP() throws {
        let platform = try Self.guest(FakeSEVGuestDevice())
        let error = #expect(throws: SealedStateError.self) {
            try SealedRestart.makeState(dek: Self.dek, manifestDigest: Self.digest, sealTo: .signer, platform: platform)
        }
        #expect(error?.code == .policyUnsupported && error?.message.contains("seal_to = \"measurement\"") == true)
        let blob = try Self.seal(on: platform)
        #expect(Self.code(SealedRestart.openState(blob: blob, manifestDigest: Self.digest, sealTo: .signer,
                                                  platform: platform)) == .policyUnsupported)
    }

    @Test func withoutTheDeviceTheKeyIsUnavailableAndSaysWhy() throws {
        let (kernel, _) = try SNPPlatformTests.configFS(auxblob: nil)
        let platform = try SNPPlatform(configFS: kernel.tsm, sevGuest: nil)
        let error = #expect(throws: SealedStateError.self) { try Self.seal(on: platform) }
        #expect(error?.code == .keyUnavailable && error?.message.contains("/dev/sev-guest") == true)
    }
}
