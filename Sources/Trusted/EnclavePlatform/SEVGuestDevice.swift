import EnclavaCrypto

/// What one `/dev/sev-guest` ioctl returned: the `errno` (0 on success) and the two halves of
/// `snp_guest_request_ioctl.exitinfo2`.
public struct SEVGuestStatus: Sendable, Equatable, CustomStringConvertible {
    /// `errno` of the ioctl, 0 when it succeeded.
    public var errno: Int32
    /// The firmware status (`SEV_RET_*`); `0xFFFFFFFF` when the firmware was not called.
    public var firmwareError: UInt32
    /// The hypervisor status: ``vmmInvalidLength`` or ``vmmBusy``.
    public var vmmError: UInt32

    /// `SNP_GUEST_VMM_ERR_INVALID_LEN`: the certificate buffer is too small; `certs_len` holds the size needed.
    public static let vmmInvalidLength: UInt32 = 1
    /// `SNP_GUEST_VMM_ERR_BUSY`: the host throttled the request.
    public static let vmmBusy: UInt32 = 2
    /// `SEV_RET_NO_FW_CALL`: the request never reached the firmware.
    public static let noFirmwareCall: UInt32 = 0xFFFF_FFFF

    /// A status.
    public init(errno: Int32 = 0, firmwareError: UInt32 = 0, vmmError: UInt32 = 0) {
        self.errno = errno
        self.firmwareError = firmwareError
        self.vmmError = vmmError
    }

    /// Success: no errno, no firmware or hypervisor error.
    public static let success = SEVGuestStatus()

    /// `EIO, fw_error 0x16 (INVALID_PARAM), vmm_error 0`.
    public var description: String {
        let fw = String(firmwareError, radix: 16)
        return "\(errno == 0 ? "ok" : SystemCallError.describe(errno)), fw_error 0x\(fw) (\(Self.firmwareName(firmwareError))), "
            + "vmm_error \(vmmError)"
    }

    /// The name of a firmware status (SEV-SNP ABI `SEV_RET_*`).
    public static func firmwareName(_ code: UInt32) -> String {
        switch code {
        case 0x00: "SUCCESS"
        case 0x01: "INVALID_PLATFORM_STATE"
        case 0x02: "INVALID_GUEST_STATE"
        case 0x03: "INVALID_CONFIG"
        case 0x04: "INVALID_LEN"
        case 0x07: "POLICY_FAILURE"
        case 0x09: "INVALID_ADDRESS"
        case 0x11: "INVALID_COMMAND"
        case 0x15: "UNSUPPORTED"
        case 0x16: "INVALID_PARAM"
        case 0x17: "RESOURCE_LIMIT"
        case 0x27: "INVALID_KEY"
        case noFirmwareCall: "NO_FW_CALL"
        default: "unknown"
        }
    }
}

/// The three `/dev/sev-guest` ioctls (Linux `include/uapi/linux/sev-guest.h`), one call each, with the
/// kernel's buffers. ``LinuxSEVGuestDevice`` makes the real calls; tests use a fake that follows the
/// kernel's documented behaviour.
public protocol SEVGuestDevice: Sendable {
    /// The device path, for messages.
    var path: String { get }
    /// `SNP_GET_REPORT`. `request` is a 96-byte `snp_report_req`; on success `response` (4000 bytes)
    /// holds the firmware's MSG_REPORT_RSP.
    func getReport(request: [UInt8], response: inout [UInt8]) -> SEVGuestStatus
    /// `SNP_GET_EXT_REPORT`. `certificates` is the caller's buffer of `certificatesLength` bytes (page
    /// aligned, at most `SEV_FW_BLOB_MAX_SIZE`; 0 asks for no certificates). When it is too small the call
    /// fails with `EIO`, `vmm_error` ``SEVGuestStatus/vmmInvalidLength`` and `certificatesLength` set to the
    /// size needed.
    func getExtendedReport(request: [UInt8], response: inout [UInt8], certificates: inout [UInt8],
                           certificatesLength: inout UInt32) -> SEVGuestStatus
    /// `SNP_GET_DERIVED_KEY`. `request` is a 32-byte `snp_derived_key_req`; on success `response` (64 bytes)
    /// holds the MSG_KEY_RSP with the key.
    func getDerivedKey(request: [UInt8], response: inout SecureBytes) -> SEVGuestStatus
}
