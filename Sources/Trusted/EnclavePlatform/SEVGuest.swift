#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import EnclavaAttestation
import EnclavaCrypto

/// SEV-SNP reports and derived keys through `/dev/sev-guest` (``SEVGuestDevice``): builds the requests,
/// retries what the kernel documents as retryable (a certificate buffer that is too small, with the size
/// the kernel returns; a throttled host, a bounded number of times) and checks the firmware's answers.
public struct SEVGuest: Sendable {
    /// `SEV_FW_BLOB_MAX_SIZE`: the kernel refuses larger certificate buffers.
    public static let maxCertificateBufferBytes = 0x4000
    /// The first certificate buffer (two pages: a VCEK, ASK and ARK fit).
    public static let initialCertificateBufferBytes = 0x2000
    /// Attempts on a throttled host (`EIO` with `vmm_error` BUSY, `EAGAIN`) before ``PlatformError/Code/busy``.
    public static let maxBusyAttempts = 3
    /// Offset of the report in MSG_REPORT_RSP (after status, report_size and 24 reserved bytes).
    static let reportOffset = 0x20
    /// Offset of the key in MSG_KEY_RSP.
    static let keyOffset = 0x20
    /// The page size certificate buffers are aligned to.
    static let pageSize = 4096

    /// The device.
    public let device: any SEVGuestDevice
    /// Waits before retry `attempt` (1, 2, …) on a throttled host; 2 s each by default (the kernel's own
    /// `SNP_REQ_RETRY_DELAY`). Tests pass a no-op.
    let backoff: @Sendable (Int) -> Void

    /// A client of `device`.
    public init(device: any SEVGuestDevice) {
        self.init(device: device) { _ in sleep(2) }
    }

    init(device: any SEVGuestDevice, backoff: @escaping @Sendable (Int) -> Void) {
        self.device = device
        self.backoff = backoff
    }

    /// `SNP_GET_REPORT`: the 1184-byte report over `reportData` at `vmpl`.
    /// - Throws: ``PlatformError`` (see ``failure(_:operation:)``; `.invalidEvidence` for a malformed response).
    public func report(reportData: [UInt8], vmpl: UInt32 = 0) throws -> [UInt8] {
        let request = try Self.reportRequest(reportData, vmpl: vmpl)
        var response = [UInt8](repeating: 0, count: 4000)
        try retryingWhileBusy("SNP_GET_REPORT") { device.getReport(request: request, response: &response) }
        return try Self.reportFromResponse(response)
    }

    /// `SNP_GET_EXT_REPORT`: the report and the host's certificate table. A certificate buffer that is too
    /// small is retried once with the size the kernel returns (page-aligned, at most
    /// ``maxCertificateBufferBytes``).
    public func extendedReport(reportData: [UInt8], vmpl: UInt32 = 0) throws -> (report: [UInt8], certificates: SNPCertificateTable) {
        let request = try Self.reportRequest(reportData, vmpl: vmpl)
        var length = UInt32(Self.initialCertificateBufferBytes)
        for _ in 0..<2 {
            var response = [UInt8](repeating: 0, count: 4000)
            var certificates = [UInt8](repeating: 0, count: Int(length))
            var returned = length
            let status = try retryingWhileBusy("SNP_GET_EXT_REPORT", acceptingTooSmall: true) {
                returned = length
                return device.getExtendedReport(request: request, response: &response, certificates: &certificates,
                                                certificatesLength: &returned)
            }
            if Self.isTooSmall(status) {
                guard returned > length else {
                    throw PlatformError(.evidenceFailed, "\(device.path): SNP_GET_EXT_REPORT said the certificate buffer of "
                        + "\(length) bytes is too small but asked for \(returned) bytes; the host's answer is inconsistent")
                }
                let needed = (Int(returned) + Self.pageSize - 1) / Self.pageSize * Self.pageSize
                guard needed <= Self.maxCertificateBufferBytes else {
                    throw PlatformError(.invalidEvidence, "\(device.path): the host's certificate table needs \(returned) "
                        + "bytes, more than the kernel's limit of \(Self.maxCertificateBufferBytes); fix the host's "
                        + "certificate configuration or use configfs-tsm")
                }
                length = UInt32(needed)
                continue
            }
            let report = try Self.reportFromResponse(response)
            return (report, try SNPCertificateTable(parsing: certificates))
        }
        throw PlatformError(.evidenceFailed, "\(device.path): SNP_GET_EXT_REPORT still said the certificate buffer "
            + "(\(length) bytes) is too small after growing it to the size the kernel asked for; the host keeps changing it")
    }

    /// `SNP_GET_DERIVED_KEY`: the 32-byte key of `request`.
    public func derivedKey(_ request: SNPDerivedKeyRequest) throws -> SecureBytes {
        let bytes = request.serialized
        var response = SecureBytes(count: 64)
        defer { response = SecureBytes(count: 0) }
        try retryingWhileBusy("SNP_GET_DERIVED_KEY") { device.getDerivedKey(request: bytes, response: &response) }
        let header = response.slice(0..<8).unsafeCopyToArray()
        let status = LittleEndian.u32(header, 0)
        guard status == 0 else {
            throw PlatformError(.sealingFailed, "\(device.path): the firmware refused SNP_GET_DERIVED_KEY with status "
                + "0x\(String(status, radix: 16)) (\(SEVGuestStatus.firmwareName(status))); the requested fields, VMPL "
                + "(\(request.vmpl)) or TCB version are not allowed for this guest")
        }
        return response.slice(Self.keyOffset..<(Self.keyOffset + 32))
    }

    /// Runs `call`, retrying `EIO`+BUSY and `EAGAIN` with ``backoff``; returns the final status when it
    /// succeeded (or, with `acceptingTooSmall`, when it reported a too-small certificate buffer).
    @discardableResult
    func retryingWhileBusy(_ operation: String, acceptingTooSmall: Bool = false,
                           _ call: () -> SEVGuestStatus) throws -> SEVGuestStatus {
        var attempt = 1
        while true {
            let status = call()
            if status.errno == 0 || (acceptingTooSmall && Self.isTooSmall(status)) { return status }
            let busy = status.errno == EAGAIN || (status.errno == EIO && status.vmmError == SEVGuestStatus.vmmBusy)
            guard busy, attempt < Self.maxBusyAttempts else { throw failure(status, operation: operation) }
            backoff(attempt)
            attempt += 1
        }
    }

    static func isTooSmall(_ status: SEVGuestStatus) -> Bool {
        status.errno == ENOSPC || (status.errno == EIO && status.vmmError == SEVGuestStatus.vmmInvalidLength)
    }

    static func reportRequest(_ reportData: [UInt8], vmpl: UInt32) throws -> [UInt8] {
        try PlatformSupport.checkReportData(reportData)
        guard vmpl <= 3 else {
            throw PlatformError(.evidenceFailed, "VMPL \(vmpl) is outside 0…3")
        }
        return SNPReportRequest(userData: reportData, vmpl: vmpl).serialized
    }

    /// The report inside a MSG_REPORT_RSP, after checking its status and size.
    static func reportFromResponse(_ response: [UInt8]) throws -> [UInt8] {
        let status = LittleEndian.u32(response, 0)
        let size = Int(LittleEndian.u32(response, 4))
        guard status == 0 else {
            throw PlatformError(.evidenceFailed, "the firmware refused the report request with status 0x\(String(status, radix: 16)) "
                + "(\(SEVGuestStatus.firmwareName(status))); INVALID_PARAM usually means a VMPL below the guest's own")
        }
        guard size >= SNPReport.byteCount, reportOffset + size <= response.count else {
            throw PlatformError(.invalidEvidence, "the firmware's report response says the report has \(size) bytes; "
                + "an SEV-SNP report has \(SNPReport.byteCount) and the response holds at most \(response.count - reportOffset)")
        }
        return Array(response[reportOffset..<(reportOffset + size)])
    }
}
