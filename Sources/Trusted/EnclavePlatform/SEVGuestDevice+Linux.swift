#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import EnclavaCrypto
internal import CEnclaveSystem

/// The real `/dev/sev-guest`: the ioctls go through the CEnclaveSystem shim, which declares the uapi
/// structs itself (no kernel headers needed at build time).
public final class LinuxSEVGuestDevice: SEVGuestDevice {
    /// The usual device path.
    public static let defaultPath = "/dev/sev-guest"
    /// The device path.
    public let path: String
    private let fd: Int32

    /// Opens the device read-write.
    /// - Throws: ``PlatformError`` `.unavailable` saying why (no device, no permission).
    public init(path: String = LinuxSEVGuestDevice.defaultPath) throws {
        self.path = path
        let result = path.withCString { enclava_sev_guest_open($0) }
        guard result >= 0 else {
            let code = -result
            let error = SystemCallError(call: "open", path: path, code: code)
            switch code {
            case ENOENT, ENODEV, ENXIO:
                throw PlatformError(.unavailable, "\(error): this is not an SEV-SNP guest, or its sev-guest driver is "
                    + "not loaded; check `dmesg | grep -i sev` and `modprobe sev-guest`")
            case EACCES, EPERM:
                throw PlatformError(.unavailable, "\(error): run the enclave runtime as root or give it access to \(path)")
            default:
                throw PlatformError(.unavailable, "\(error): cannot open the SEV-SNP guest device")
            }
        }
        fd = result
    }

    deinit {
        enclava_sev_guest_close(fd)
    }

    public func getReport(request: [UInt8], response: inout [UInt8]) -> SEVGuestStatus {
        guard request.count == Int(ENCLAVA_SNP_REPORT_REQ_SIZE), response.count == Int(ENCLAVA_SNP_REPORT_RESP_SIZE) else {
            return SEVGuestStatus(errno: EINVAL, firmwareError: SEVGuestStatus.noFirmwareCall)
        }
        var info = enclava_snp_exit_info()
        let rc = request.withUnsafeBufferPointer { req in
            response.withUnsafeMutableBufferPointer { resp in
                enclava_snp_get_report(fd, req.baseAddress, resp.baseAddress, &info)
            }
        }
        return SEVGuestStatus(errno: rc, firmwareError: info.fw_error, vmmError: info.vmm_error)
    }

    public func getExtendedReport(request: [UInt8], response: inout [UInt8], certificates: inout [UInt8],
                                  certificatesLength: inout UInt32) -> SEVGuestStatus {
        guard request.count == Int(ENCLAVA_SNP_REPORT_REQ_SIZE), response.count == Int(ENCLAVA_SNP_REPORT_RESP_SIZE),
              certificates.count >= Int(certificatesLength) else {
            return SEVGuestStatus(errno: EINVAL, firmwareError: SEVGuestStatus.noFirmwareCall)
        }
        var info = enclava_snp_exit_info()
        var length = certificatesLength
        let rc = request.withUnsafeBufferPointer { req in
            response.withUnsafeMutableBufferPointer { resp in
                certificates.withUnsafeMutableBufferPointer { certs in
                    enclava_snp_get_ext_report(fd, req.baseAddress, resp.baseAddress, certs.baseAddress, &length, &info)
                }
            }
        }
        certificatesLength = length
        return SEVGuestStatus(errno: rc, firmwareError: info.fw_error, vmmError: info.vmm_error)
    }

    public func getDerivedKey(request: [UInt8], response: inout SecureBytes) -> SEVGuestStatus {
        guard request.count == Int(ENCLAVA_SNP_DERIVED_KEY_REQ_SIZE), response.count == Int(ENCLAVA_SNP_DERIVED_KEY_RESP_SIZE) else {
            return SEVGuestStatus(errno: EINVAL, firmwareError: SEVGuestStatus.noFirmwareCall)
        }
        var info = enclava_snp_exit_info()
        let rc = request.withUnsafeBufferPointer { req in
            response.withUnsafeMutableBytes { resp in
                enclava_snp_get_derived_key(fd, req.baseAddress, resp.baseAddress!.assumingMemoryBound(to: UInt8.self), &info)
            }
        }
        return SEVGuestStatus(errno: rc, firmwareError: info.fw_error, vmmError: info.vmm_error)
    }
}
