import EnclavaAttestation
import EnclavaCrypto
import Foundation
import Synchronization
import Testing
@testable import EnclavePlatform

@Suite struct SEVGuestTests {
    static func guest(_ device: FakeSEVGuestDevice) -> SEVGuest {
        SEVGuest(device: device) { _ in }
    }

    @Test func requestLayoutsMatchTheKernelStructs() throws {
        let userData = (0..<64).map { UInt8($0) }
        let request = SNPReportRequest(userData: userData, vmpl: 2).serialized
        #expect(request.count == 96)
        #expect(Array(request[64..<68]) == [2, 0, 0, 0] && request[68...].allSatisfy { $0 == 0 })
        #expect(SNPReportRequest(bytes: request) == SNPReportRequest(userData: userData, vmpl: 2))

        let key = SNPDerivedKeyRequest(rootKey: .vmrk, fields: [.measurement, .guestPolicy], vmpl: 1, guestSVN: 7,
                                       tcbVersion: 0x0102030405060708).serialized
        #expect(key.count == 32)
        #expect(Array(key[0..<8]) == [1, 0, 0, 0, 0, 0, 0, 0])
        #expect(Array(key[8..<16]) == [0b1001, 0, 0, 0, 0, 0, 0, 0])
        #expect(Array(key[16..<24]) == [1, 0, 0, 0, 7, 0, 0, 0])
        #expect(Array(key[24..<32]) == [8, 7, 6, 5, 4, 3, 2, 1])
        // Sealing mixes in the guest policy, the measurement and the TCB version (bits 0, 3 and 5), from the VCEK.
        let sealing = SNPDerivedKeyRequest.sealing(vmpl: 0, tcbVersion: 0x1122_3344_5566_7788)
        #expect(sealing.rootKey == .vcek && sealing.fields.rawValue == 0b10_1001)
        #expect(Array(sealing.serialized[24..<32]) == [0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11])
    }

    @Test func getReportReturnsTheReportFromTheFirmwareResponse() throws {
        let device = FakeSEVGuestDevice()
        let sample = try PlatformTestData.snpSample().report
        device.configure { $0.report = { data, _ in PlatformTestData.snpReport(sample, withReportData: data) } }
        let data = SecureRandom.bytes(count: 64)
        let report = try Self.guest(device).report(reportData: data)
        #expect(report == PlatformTestData.snpReport(sample, withReportData: data))
    }

    @Test(arguments: [EIO, ENOSPC])
    func aTooSmallCertificateBufferIsRetriedWithTheSizeTheKernelReturns(reportedAs code: Int32) throws {
        let device = FakeSEVGuestDevice()
        device.configure { $0.tooSmallErrno = code }
        let table = try SNPCertificateTableTests.sampleTable()
        // A table larger than the first buffer (8 KiB): pad it with a big unknown entry.
        let padded = SNPCertificateTable(entries: table.entries + [
            .init(guid: [UInt8](repeating: 0x5A, count: 16), certificate: try PlatformTestData.snpSample().vcek),
            .init(guid: [UInt8](repeating: 0x5B, count: 16), certificate: try PlatformTestData.pemChain("sev-snp/trustee/milan_ask_ark_asvk.pem")[0]),
            .init(guid: [UInt8](repeating: 0x5C, count: 16), certificate: try PlatformTestData.pemChain("sev-snp/trustee/milan_ask_ark_asvk.pem")[2]),
        ])
        let wire = padded.serialized()
        #expect(wire.count > SEVGuest.initialCertificateBufferBytes)
        device.configure { $0.certificates = wire }
        let (report, certificates) = try Self.guest(device).extendedReport(reportData: [UInt8](repeating: 9, count: 64))
        #expect(report.count == 1184)
        #expect(certificates == padded)
        let lengths = device.snapshot.certificateLengths
        #expect(lengths == [UInt32(SEVGuest.initialCertificateBufferBytes), UInt32((wire.count + 4095) / 4096 * 4096)])
    }

    @Test func aHostWithoutCertificatesGivesAnEmptyTable() throws {
        let device = FakeSEVGuestDevice()
        let (_, certificates) = try Self.guest(device).extendedReport(reportData: [UInt8](repeating: 9, count: 64))
        #expect(certificates.entries.isEmpty)
        #expect(device.snapshot.certificateLengths.count == 1)
    }

    @Test func throttlingIsRetriedABoundedNumberOfTimes() throws {
        let device = FakeSEVGuestDevice()
        device.configure { $0.throttled = SEVGuest.maxBusyAttempts - 1 }
        let waits = Counter()
        let guest = SEVGuest(device: device) { _ in waits.increment() }
        _ = try guest.report(reportData: [UInt8](repeating: 1, count: 64))
        #expect(waits.value == SEVGuest.maxBusyAttempts - 1)

        device.configure { $0.throttled = SEVGuest.maxBusyAttempts }
        let error = #expect(throws: PlatformError.self) { try guest.report(reportData: [UInt8](repeating: 1, count: 64)) }
        #expect(error?.code == .busy && error?.message.contains("vmm_error 2") == true)
    }

    @Test func firmwareAndDriverErrorsBecomeClearPlatformErrors() throws {
        let data = [UInt8](repeating: 1, count: 64)
        // The firmware refuses the VMPL: status INVALID_PARAM in MSG_REPORT_RSP.
        let vmpl = FakeSEVGuestDevice()
        vmpl.configure { $0.guestVMPL = 2 }
        let refused = #expect(throws: PlatformError.self) { try Self.guest(vmpl).report(reportData: data, vmpl: 0) }
        #expect(refused?.code == .evidenceFailed && refused?.message.contains("INVALID_PARAM") == true)
        #expect(throws: PlatformError.self) { try Self.guest(vmpl).report(reportData: data, vmpl: 4) }

        // EIO with a firmware error: named, and the VMPCK is gone afterwards (ENOTTY).
        let firmware = FakeSEVGuestDevice()
        firmware.configure { $0.ioctlFailure = (EIO, 0x27) }
        let eio = #expect(throws: PlatformError.self) { try Self.guest(firmware).report(reportData: data) }
        #expect(eio?.code == .evidenceFailed && eio?.message.contains("INVALID_KEY") == true)
        firmware.configure { $0.ioctlFailure = nil }
        let disabled = #expect(throws: PlatformError.self) { try Self.guest(firmware).report(reportData: data) }
        #expect(disabled?.code == .unavailable && disabled?.message.contains("VMPCK") == true)

        // EINVAL, ETIMEDOUT (throttled longer than the kernel waits), EIO from the host.
        let cases: [(Int32, UInt32, PlatformError.Code)] = [(EINVAL, SEVGuestStatus.noFirmwareCall, .evidenceFailed),
                                                            (ETIMEDOUT, 0, .busy), (EIO, 0, .evidenceFailed),
                                                            (EFAULT, 0, .evidenceFailed)]
        for (code, fw, expected) in cases {
            let device = FakeSEVGuestDevice()
            device.configure { $0.ioctlFailure = (code, fw) }
            let error = #expect(throws: PlatformError.self) { try Self.guest(device).report(reportData: data) }
            #expect(error?.code == expected, "errno \(code)")
            #expect(error?.message.contains(SystemCallError.describe(code)) == true)
        }

        // A firmware answer whose report_size is wrong.
        for size in [UInt32(0), 1183, 4000] {
            let device = FakeSEVGuestDevice()
            device.configure { $0.reportSize = size }
            let error = #expect(throws: PlatformError.self) { try Self.guest(device).report(reportData: data) }
            #expect(error?.code == .invalidEvidence, "report_size \(size)")
        }
        // Report data of the wrong size never reaches the device.
        let device = FakeSEVGuestDevice()
        #expect(throws: PlatformError.self) { try Self.guest(device).report(reportData: [1, 2, 3]) }
        #expect(device.snapshot.calls == 0)
    }

    @Test func aHostAskingForMoreThanTheKernelAllowsIsRefused() throws {
        let device = FakeSEVGuestDevice()
        device.configure { $0.certificates = [UInt8](repeating: 0x41, count: SEVGuest.maxCertificateBufferBytes + 1) }
        let error = #expect(throws: PlatformError.self) {
            try Self.guest(device).extendedReport(reportData: [UInt8](repeating: 1, count: 64))
        }
        #expect(error?.code == .invalidEvidence && error?.message.contains("\(SEVGuest.maxCertificateBufferBytes)") == true)
    }

    @Test func derivedKeysComeFromTheFirmwareAndFollowTheRequest() throws {
        let device = FakeSEVGuestDevice()
        let guest = Self.guest(device)
        let key = try guest.derivedKey(.sealing(vmpl: 0, tcbVersion: 0))
        #expect(key.count == 32)
        #expect(try guest.derivedKey(.sealing(vmpl: 0, tcbVersion: 0)) == key)
        #expect(try guest.derivedKey(SNPDerivedKeyRequest(fields: [.measurement])) != key)
        #expect(device.snapshot.keyRequests.first == .sealing(vmpl: 0, tcbVersion: 0))

        device.configure { $0.measurement = [UInt8](repeating: 0x22, count: 48) }
        #expect(try guest.derivedKey(.sealing(vmpl: 0, tcbVersion: 0)) != key, "another measurement, another key")

        device.configure { $0.guestVMPL = 1 }
        let error = #expect(throws: PlatformError.self) { try guest.derivedKey(.sealing(vmpl: 0, tcbVersion: 0)) }
        #expect(error?.code == .sealingFailed && error?.message.contains("INVALID_PARAM") == true)
    }
}

/// A thread-safe counter for callbacks.
final class Counter: Sendable {
    private let count = Mutex(0)
    func increment() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
