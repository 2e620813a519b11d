import EnclavaCrypto
import Foundation
import Synchronization
@testable import EnclavePlatform

/// Stands in for `/dev/sev-guest`, following the sev-guest driver (`drivers/virt/coco/sev-guest`):
/// requests of the wrong size or a certificate buffer that is not page-aligned or larger than
/// `SEV_FW_BLOB_MAX_SIZE` fail with EINVAL; a certificate buffer smaller than the host's table fails with
/// EIO, `vmm_error` 1 and `certs_len` set to the size needed; a throttled host fails with EIO and
/// `vmm_error` 2; the firmware's status goes into MSG_REPORT_RSP / MSG_KEY_RSP; after a failure other
/// than a too-small buffer the driver disables its VMPCK and every later call fails with ENOTTY.
final class FakeSEVGuestDevice: SEVGuestDevice {
    struct State {
        /// The report for a request (user data, VMPL).
        var report: @Sendable ([UInt8], UInt32) -> [UInt8] = { data, _ in [UInt8](repeating: 0, count: 0x50) + data + [UInt8](repeating: 0, count: 1184 - 0x90) }
        /// The host's certificate table (page-padded by the fake when copied out).
        var certificates: [UInt8] = []
        /// Firmware status written into the response (0 = success).
        var firmwareStatus: UInt32 = 0
        /// The firmware's own report_size field (nil: the real size).
        var reportSize: UInt32? = nil
        /// How a too-small certificate buffer is reported: EIO with vmm_error INVALID_LEN (the ioctl), or
        /// ENOSPC (what the driver's internal call returns before it rewrites it).
        var tooSmallErrno: Int32 = EIO
        /// The next calls the host throttles (EIO + vmm_error BUSY).
        var throttled = 0
        /// Fail the ioctl itself with this errno and firmware error.
        var ioctlFailure: (Int32, UInt32)? = nil
        /// The secret the fake firmware derives keys from.
        var keySecret: [UInt8] = SecureRandom.bytes(count: 32)
        /// The guest's launch fields the keys mix in.
        var measurement: [UInt8] = [UInt8](repeating: 0x11, count: 48)
        var policy: UInt64 = 0x30000
        /// The platform's COMMITTED_TCB: a key request may mix in a TCB version up to it, SVN by SVN (tests that
        /// model a firmware update set it together with the reports' COMMITTED_TCB).
        var committedTCB: UInt64 = .max
        var guestVMPL: UInt32 = 0
        var vmpckDisabled = false
        /// What was asked, for the tests.
        var certificateLengths: [UInt32] = []
        var keyRequests: [SNPDerivedKeyRequest] = []
        var calls = 0
    }

    let path = "/dev/fake-sev-guest"
    let state = Mutex(State())

    func configure(_ body: (inout State) -> Void) { state.withLock { body(&$0) } }
    var snapshot: State { state.withLock { $0 } }

    func getReport(request: [UInt8], response: inout [UInt8]) -> SEVGuestStatus {
        var ignoredCertificates: [UInt8] = []
        var length: UInt32 = 0
        return serve(request: request, response: &response, certificates: &ignoredCertificates, length: &length, extended: false)
    }

    func getExtendedReport(request: [UInt8], response: inout [UInt8], certificates: inout [UInt8],
                           certificatesLength: inout UInt32) -> SEVGuestStatus {
        serve(request: request, response: &response, certificates: &certificates, length: &certificatesLength, extended: true)
    }

    func getDerivedKey(request: [UInt8], response: inout SecureBytes) -> SEVGuestStatus {
        state.withLock { state in
            state.calls += 1
            if state.vmpckDisabled { return SEVGuestStatus(errno: ENOTTY) }
            guard let parsed = SNPDerivedKeyRequest(bytes: request), response.count == 64 else {
                return SEVGuestStatus(errno: EINVAL, firmwareError: SEVGuestStatus.noFirmwareCall)
            }
            if let failure = Self.failure(&state) { return failure }
            state.keyRequests.append(parsed)
            var message = [UInt8](repeating: 0, count: 64)
            // The firmware refuses a VMPL below the guest's own, unknown field bits, and a TCB version with an
            // SVN above the committed TCB's.
            let tcbTooNew = parsed.fields.contains(.tcbVersion)
                && (0..<8).contains { (parsed.tcbVersion >> ($0 * 8)) & 0xFF > (state.committedTCB >> ($0 * 8)) & 0xFF }
            if parsed.vmpl < state.guestVMPL || parsed.fields.rawValue >> 7 != 0 || tcbTooNew {
                message.replaceSubrange(0..<4, with: LittleEndian.bytes(UInt32(0x16)))
            } else {
                var mixed = LittleEndian.bytes(parsed.rootKey.rawValue) + LittleEndian.bytes(parsed.vmpl)
                if parsed.fields.contains(.guestPolicy) { mixed += LittleEndian.bytes(state.policy) }
                if parsed.fields.contains(.measurement) { mixed += state.measurement }
                if parsed.fields.contains(.tcbVersion) { mixed += LittleEndian.bytes(parsed.tcbVersion) }
                let key = try? HKDF.deriveKey(.sha256, ikm: SecureBytes(state.keySecret), salt: [], info: mixed, length: 32)
                message.replaceSubrange(0x20..<0x40, with: key?.unsafeCopyToArray() ?? [])
            }
            response = SecureBytes(message)
            return .success
        }
    }

    private func serve(request: [UInt8], response: inout [UInt8], certificates: inout [UInt8], length: inout UInt32,
                       extended: Bool) -> SEVGuestStatus {
        state.withLock { state in
            state.calls += 1
            if state.vmpckDisabled { return SEVGuestStatus(errno: ENOTTY) }
            guard let parsed = SNPReportRequest(bytes: request), response.count == 4000 else {
                return SEVGuestStatus(errno: EINVAL, firmwareError: SEVGuestStatus.noFirmwareCall)
            }
            if extended {
                state.certificateLengths.append(length)
                if length != 0 && (length % 4096 != 0 || length > 0x4000 || certificates.count < Int(length)) {
                    return SEVGuestStatus(errno: EINVAL, firmwareError: SEVGuestStatus.noFirmwareCall)
                }
            }
            if let failure = Self.failure(&state) { return failure }
            if extended && length != 0 && state.certificates.count > Int(length) {
                // The driver re-issues a plain request (the sequence number moves on) and reports the size.
                length = UInt32((state.certificates.count + 4095) / 4096 * 4096)
                return SEVGuestStatus(errno: state.tooSmallErrno, firmwareError: 0,
                                      vmmError: state.tooSmallErrno == EIO ? SEVGuestStatus.vmmInvalidLength : 0)
            }
            var message = [UInt8](repeating: 0, count: 4000)
            let status: UInt32 = parsed.vmpl < state.guestVMPL || parsed.vmpl > 3 ? 0x16 : state.firmwareStatus
            message.replaceSubrange(0..<4, with: LittleEndian.bytes(status))
            if status == 0 {
                let report = state.report(parsed.userData, parsed.vmpl)
                message.replaceSubrange(4..<8, with: LittleEndian.bytes(state.reportSize ?? UInt32(report.count)))
                message.replaceSubrange(0x20..<(0x20 + report.count), with: report)
            }
            response = message
            if extended && length != 0 {
                certificates = [UInt8](repeating: 0, count: Int(length))
                certificates.replaceSubrange(0..<state.certificates.count, with: state.certificates)
            }
            return .success
        }
    }

    /// Throttling and injected ioctl failures; a failure (other than throttling) disables the VMPCK.
    private static func failure(_ state: inout State) -> SEVGuestStatus? {
        if state.throttled > 0 {
            state.throttled -= 1
            return SEVGuestStatus(errno: EIO, firmwareError: 0, vmmError: SEVGuestStatus.vmmBusy)
        }
        if let (code, firmware) = state.ioctlFailure {
            state.vmpckDisabled = true
            return SEVGuestStatus(errno: code, firmwareError: firmware)
        }
        return nil
    }
}
