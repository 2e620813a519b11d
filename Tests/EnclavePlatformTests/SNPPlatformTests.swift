import EnclavaAttestation
import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavePlatform

@Suite struct SNPPlatformTests {
    /// A fake kernel that answers with the real trustee report (report data put in), and with the report
    /// exactly as AMD signed it when the request carries the sample's own report data.
    static func configFS(auxblob: [UInt8]?) throws -> (FakeTSMKernel, [UInt8]) {
        let sample = try PlatformTestData.snpSample()
        let kernel = try FakeTSMKernel(provider: "sev_guest")
        kernel.configure {
            $0.produce = { inblob, _ in .success(PlatformTestData.snpReport(sample.report, withReportData: inblob)) }
            $0.auxblob = auxblob
        }
        return (kernel, sample.report)
    }

    @Test func configFSEvidenceIsTheChipSignedReportWithTheHostsChain() throws {
        let sample = try PlatformTestData.snpSample()
        let (kernel, original) = try Self.configFS(auxblob: try SNPCertificateTableTests.sampleTable().serialized(paddedTo: 0x4000))
        let platform = try SNPPlatform(configFS: kernel.tsm, sevGuest: nil)
        let parsed = try SNPReport(parsing: original)
        #expect(platform.measurement == parsed.measurement && platform.vmpl == parsed.vmpl)
        #expect(platform.backend == "sev-snp" && !platform.isSimulated)

        let evidence = try platform.evidence(reportData: parsed.reportData)
        #expect(evidence.platform == .sevSNP)
        #expect(evidence.blob == original, "the report is passed on byte for byte")
        #expect(evidence.certificates == [sample.vcek, sample.ask, sample.ark])
        // The report still verifies under the VCEK from the host's table, which chains to the Milan ARK.
        let vcek = try Certificate(derRepresentation: evidence.certificates[0])
        #expect(try SNPReport(parsing: evidence.blob).isSignatureValid(for: try ECDSAPublicKey(spkiDER: vcek.subjectPublicKeyInfoDER)))
        #expect(vcek.issuer == (try Certificate(derRepresentation: evidence.certificates[1])).subject)

        let fresh = SecureRandom.bytes(count: 64)
        #expect(try SNPReport(parsing: platform.evidence(reportData: fresh).blob).reportData == fresh)
    }

    @Test func aVLEKSignedReportGetsTheVLEKChain() throws {
        let sample = try PlatformTestData.snpVLEKSample()
        let kernel = try FakeTSMKernel(provider: "sev_guest")
        let table = SNPCertificateTable(entries: [
            .init(guid: SNPCertificateTable.vlekGUID, certificate: sample.vlek),
            .init(guid: SNPCertificateTable.askGUID, certificate: sample.asvk),
            .init(guid: SNPCertificateTable.arkGUID, certificate: sample.ark),
        ])
        kernel.configure {
            $0.produce = { inblob, _ in .success(PlatformTestData.snpReport(sample.report, withReportData: inblob)) }
            $0.auxblob = table.serialized()
        }
        let platform = try SNPPlatform(configFS: kernel.tsm, sevGuest: nil, privilegeLevel: 1)
        #expect(platform.vmpl == 1)
        let evidence = try platform.evidence(reportData: SecureRandom.bytes(count: 64))
        #expect(evidence.certificates == [sample.vlek, sample.asvk, sample.ark])
        #expect(kernel.snapshot.privlevels.values.allSatisfy { $0 == 1 })
    }

    @Test func withoutHostCertificatesTheConfiguredChainIsSent() throws {
        let sample = try PlatformTestData.snpSample()
        let (kernel, _) = try Self.configFS(auxblob: nil)
        let bare = try SNPPlatform(configFS: kernel.tsm, sevGuest: nil)
        #expect(try bare.evidence(reportData: SecureRandom.bytes(count: 64)).certificates.isEmpty)
        let configured = try SNPPlatform(configFS: kernel.tsm, sevGuest: nil, fallbackCertificates: [sample.vcek, sample.ask, sample.ark])
        #expect(try configured.evidence(reportData: SecureRandom.bytes(count: 64)).certificates == [sample.vcek, sample.ask, sample.ark])
    }

    @Test func theDeviceIsTheFallbackAndTheSealingKeySource() throws {
        let sample = try PlatformTestData.snpSample()
        let device = FakeSEVGuestDevice()
        device.configure {
            $0.report = { data, _ in PlatformTestData.snpReport(sample.report, withReportData: data) }
            $0.certificates = (try? SNPCertificateTableTests.sampleTable().serialized()) ?? []
        }
        let guest = SEVGuest(device: device) { _ in }
        // configfs-tsm served by the TDX driver: the SNP platform falls back to /dev/sev-guest.
        let tdxKernel = try FakeTSMKernel(provider: "tdx_guest")
        let platform = try SNPPlatform(configFS: tdxKernel.tsm, sevGuest: guest)
        guard case .sevGuest = platform.source else {
            Issue.record("expected the /dev/sev-guest source")
            return
        }
        let evidence = try platform.evidence(reportData: SecureRandom.bytes(count: 64))
        #expect(evidence.certificates == [sample.vcek, sample.ask, sample.ark])

        let key = try platform.sealingKey(purpose: "enclava/v1 image dek")
        #expect(key.count == 32)
        #expect(try platform.sealingKey(purpose: "enclava/v1 image dek") == key)
        #expect(try platform.sealingKey(purpose: "another purpose") != key)
        #expect(device.snapshot.keyRequests.allSatisfy {
            $0 == .sealing(vmpl: platform.vmpl, tcbVersion: platform.committedTCB.rawValue) && $0.fields.contains(.tcbVersion)
        })
        device.configure { $0.keySecret = SecureRandom.bytes(count: 32) }
        #expect(try platform.sealingKey(purpose: "enclava/v1 image dek") != key, "another chip, another key")
        #expect(throws: PlatformError.self) { try platform.sealingKey(purpose: "") }
    }

    /// A firmware update moves COMMITTED_TCB: the sealing key changes with it, so a key that leaked while the old
    /// firmware ran opens nothing sealed after the update; and the firmware refuses a TCB above the committed one.
    @Test func sealingKeysFollowTheCommittedTCB() throws {
        let sample = try PlatformTestData.snpSample()
        let device = FakeSEVGuestDevice()
        func platform(committed: TCBVersion) throws -> SNPPlatform {
            var patched = sample.report
            patched.replaceSubrange(0x1E0..<0x1E8, with: LittleEndian.bytes(committed.rawValue))
            let report = patched
            device.configure {
                $0.report = { data, _ in PlatformTestData.snpReport(report, withReportData: data) }
                $0.committedTCB = committed.rawValue
            }
            return try SNPPlatform(configFS: nil, sevGuest: SEVGuest(device: device) { _ in })
        }
        let old = TCBVersion(bootLoader: 3, tee: 0, snp: 8, microcode: 115)
        let patched = TCBVersion(bootLoader: 3, tee: 0, snp: 9, microcode: 115)
        let before = try platform(committed: old)
        #expect(before.committedTCB == old)
        let oldKey = try before.sealingKey(purpose: "enclava/v1 image dek")
        let after = try platform(committed: patched)
        #expect(after.committedTCB == patched)
        #expect(try after.sealingKey(purpose: "enclava/v1 image dek") != oldKey, "patched firmware, another key")
        #expect(try platform(committed: old).sealingKey(purpose: "enclava/v1 image dek") == oldKey)

        // A request above the committed TCB (a host replaying an old report's value is harmless; a newer one is
        // refused by the firmware).
        device.configure { $0.committedTCB = old.rawValue }
        let error = #expect(throws: PlatformError.self) { try after.sealingKey(purpose: "enclava/v1 image dek") }
        #expect(error?.code == .sealingFailed && error?.message.contains("INVALID_PARAM") == true)
    }

    @Test func sealingWithoutTheDeviceIsAClearError() throws {
        let (kernel, _) = try Self.configFS(auxblob: nil)
        let platform = try SNPPlatform(configFS: kernel.tsm, sevGuest: nil)
        let error = #expect(throws: PlatformError.self) { try platform.sealingKey(purpose: "x") }
        #expect(error?.code == .sealingFailed && error?.message.contains("/dev/sev-guest") == true)
    }

    @Test func wrongAnswersAreRefused() throws {
        let sample = try PlatformTestData.snpSample()
        // The kernel answers with a report over other report data (another writer's request).
        let stale = try FakeTSMKernel()
        stale.configure { $0.produce = { _, _ in .success(sample.report) } }
        let error = #expect(throws: PlatformError.self) { try SNPPlatform(configFS: stale.tsm, sevGuest: nil) }
        #expect(error?.code == .invalidEvidence && error?.message.contains("report data") == true)

        // Short and long outblobs.
        for count in [100, 1183, 1185] {
            let kernel = try FakeTSMKernel()
            kernel.configure { $0.produce = { inblob, _ in .success(Array(PlatformTestData.snpReport(sample.report + [0], withReportData: inblob).prefix(count))) } }
            let error = #expect(throws: PlatformError.self) { try SNPPlatform(configFS: kernel.tsm, sevGuest: nil) }
            #expect(error?.code == .invalidEvidence, "\(count) bytes")
        }

        // A damaged certificate table.
        var table = try SNPCertificateTableTests.sampleTable().serialized()
        table[17] ^= 0x40
        let (kernel, _) = try Self.configFS(auxblob: table)
        let damaged = #expect(throws: PlatformError.self) { try SNPPlatform(configFS: kernel.tsm, sevGuest: nil) }
        #expect(damaged?.code == .invalidEvidence)

        // No interface at all.
        let none = #expect(throws: PlatformError.self) { try SNPPlatform(configFS: nil, sevGuest: nil) }
        #expect(none?.code == .unavailable && none?.message.contains("/dev/sev-guest") == true)
    }

    @Test func reportDataMustBe64Bytes() throws {
        let (kernel, _) = try Self.configFS(auxblob: nil)
        let platform = try SNPPlatform(configFS: kernel.tsm, sevGuest: nil)
        for count in [0, 63, 65] {
            let error = #expect(throws: PlatformError.self) { try platform.evidence(reportData: [UInt8](repeating: 0, count: count)) }
            #expect(error?.code == .invalidReportData)
        }
    }
}
