import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavePlatform

/// The real ioctl path through the CEnclaveSystem shim, on devices that are not an SEV guest: the
/// kernel answers ENOTTY, which must come back as a clear error rather than a crash or a fake success.
@Suite struct LinuxSEVGuestDeviceTests {
    @Test func aMissingDeviceIsUnavailable() throws {
        let error = #expect(throws: PlatformError.self) { try LinuxSEVGuestDevice(path: "/nonexistent/sev-guest") }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("ENOENT") == true && error?.message.contains("modprobe sev-guest") == true)
    }

    @Test func theIoctlsReachTheKernelAndItsErrorsComeBack() throws {
        let device = try LinuxSEVGuestDevice(path: "/dev/null")
        var response = [UInt8](repeating: 0, count: 4000)
        let request = SNPReportRequest(userData: [UInt8](repeating: 1, count: 64), vmpl: 0).serialized
        #expect(device.getReport(request: request, response: &response).errno == ENOTTY)
        var certificates = [UInt8](repeating: 0, count: 8192)
        var length: UInt32 = 8192
        #expect(device.getExtendedReport(request: request, response: &response, certificates: &certificates,
                                         certificatesLength: &length).errno == ENOTTY)
        #expect(length == 8192)
        var key = SecureBytes(count: 64)
        #expect(device.getDerivedKey(request: SNPDerivedKeyRequest.sealing(vmpl: 0, tcbVersion: 0).serialized, response: &key).errno == ENOTTY)
        #expect(response.allSatisfy { $0 == 0 })

        let error = #expect(throws: PlatformError.self) {
            try SEVGuest(device: device) { _ in }.report(reportData: [UInt8](repeating: 1, count: 64))
        }
        #expect(error?.code == .unavailable && error?.message.contains("ENOTTY") == true)
    }

    @Test func wrongBufferSizesNeverReachTheKernel() throws {
        let device = try LinuxSEVGuestDevice(path: "/dev/null")
        var response = [UInt8](repeating: 0, count: 100)
        #expect(device.getReport(request: [UInt8](repeating: 0, count: 96), response: &response).errno == EINVAL)
        var full = [UInt8](repeating: 0, count: 4000)
        #expect(device.getReport(request: [UInt8](repeating: 0, count: 95), response: &full).errno == EINVAL)
        var certificates = [UInt8](repeating: 0, count: 100)
        var length: UInt32 = 4096
        #expect(device.getExtendedReport(request: [UInt8](repeating: 0, count: 96), response: &full,
                                         certificates: &certificates, certificatesLength: &length).errno == EINVAL)
        var key = SecureBytes(count: 32)
        #expect(device.getDerivedKey(request: [UInt8](repeating: 0, count: 32), response: &key).errno == EINVAL)
    }
}
