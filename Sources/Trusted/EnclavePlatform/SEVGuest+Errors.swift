#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension SEVGuest {
    /// The ``PlatformError`` for a failed ioctl, from what the sev-guest driver documents for each errno.
    func failure(_ status: SEVGuestStatus, operation: String) -> PlatformError {
        let code: PlatformError.Code = operation == "SNP_GET_DERIVED_KEY" ? .sealingFailed : .evidenceFailed
        let prefix = "\(device.path): \(operation) failed (\(status))"
        switch status.errno {
        case ENOTTY:
            return PlatformError(.unavailable, "\(prefix): the driver does not know the request, or it disabled its "
                + "VMPCK after an earlier failed request to prevent IV reuse; reboot the guest and check `dmesg`")
        case EINVAL:
            return PlatformError(code, "\(prefix): the kernel refused the request's parameters (message version, "
                + "buffer sizes, a certificate buffer that is not page-aligned or larger than "
                + "\(Self.maxCertificateBufferBytes) bytes)")
        case EIO where status.vmmError == SEVGuestStatus.vmmBusy, EAGAIN:
            return PlatformError(.busy, "\(prefix): the host throttled the request \(Self.maxBusyAttempts) times; "
                + "retry later (hosts commonly allow about one report per second)")
        case ETIMEDOUT:
            return PlatformError(.busy, "\(prefix): the host throttled the request for longer than the kernel waits "
                + "(60 s); retry later")
        case EIO where status.firmwareError != 0 && status.firmwareError != SEVGuestStatus.noFirmwareCall:
            return PlatformError(code, "\(prefix): the AMD secure processor refused the request with "
                + "\(SEVGuestStatus.firmwareName(status.firmwareError)); check the requested VMPL and key fields")
        case EIO where status.vmmError != 0:
            return PlatformError(code, "\(prefix): the hypervisor failed the guest request (vmm_error "
                + "\(status.vmmError)); check the host")
        case EIO:
            return PlatformError(code, "\(prefix): the guest request did not complete; check `dmesg` and the host")
        case EACCES, EPERM:
            return PlatformError(.unavailable, "\(prefix): permission denied; run the enclave runtime as root")
        default:
            return PlatformError(code, "\(prefix)")
        }
    }
}
