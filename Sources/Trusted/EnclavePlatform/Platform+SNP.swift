import EnclavaAttestation
import EnclavaCrypto

/// The AMD SEV-SNP backend: the runtime runs in a confidential VM. Evidence is the chip-signed
/// ATTESTATION_REPORT from configfs-tsm (preferred) or `/dev/sev-guest` `SNP_GET_EXT_REPORT`, with the
/// host's VCEK/VLEK, ASK and ARK from the certificate table (or a configured chain file when the host
/// provides none). The measurement is the report's MEASUREMENT. Sealing keys come from
/// `SNP_GET_DERIVED_KEY` (VCEK root, guest policy, measurement and the committed TCB mixed in), so they need
/// `/dev/sev-guest`.
public struct SNPPlatform: TEEPlatform {
    /// Where the evidence comes from.
    public enum EvidenceSource: Sendable {
        /// configfs-tsm with the `sev_guest` provider.
        case configFS(ConfigFSTSM)
        /// The `/dev/sev-guest` ioctls.
        case sevGuest(SEVGuest)
    }

    /// `sev-snp`.
    public var backend: String { "sev-snp" }
    /// Always false.
    public var isSimulated: Bool { false }
    /// MEASUREMENT of the launch (48 bytes), from the platform's own report.
    public let measurement: [UInt8]
    /// The VMPL the guest's reports carry; derived keys are requested at this VMPL.
    public let vmpl: UInt32
    /// COMMITTED_TCB of the platform's own report at start: the TCB version mixed into sealing keys.
    public let committedTCB: TCBVersion
    /// Where evidence comes from.
    public let source: EvidenceSource
    let keyDevice: SEVGuest?
    let keyDeviceProblem: String
    let privilegeLevel: UInt32?
    let fallbackCertificates: [[UInt8]]

    /// Salt of the sealing-key derivation from the hardware key.
    public static let sealingSalt = "enclava-snp-sealing-v1"

    /// Opens the platform: configfs-tsm under `tsmRoot` when it is there and served by `sev_guest`,
    /// otherwise the device at `sevGuestPath`, and takes one report to learn the measurement.
    ///
    /// - Parameters:
    ///   - tsmRoot: the configfs-tsm report directory.
    ///   - sevGuestPath: the SEV guest device (also the sealing-key source).
    ///   - privilegeLevel: the VMPL to request reports at; nil takes the kernel's default.
    ///   - certificateChainPath: a PEM file with the VCEK (or VLEK), ASK and ARK, sent when the host's
    ///     certificate table is empty.
    /// - Throws: ``PlatformError`` `.unavailable` naming the paths checked when neither works.
    public init(tsmRoot: String = ConfigFSTSM.defaultRoot, sevGuestPath: String = LinuxSEVGuestDevice.defaultPath,
                privilegeLevel: UInt32? = nil, certificateChainPath: String? = nil) throws {
        let configFS = ConfigFSTSM(root: tsmRoot)
        var device: SEVGuest?
        var deviceProblem = "\(sevGuestPath) does not exist"
        if POSIXFileSystem().exists(atPath: sevGuestPath) {
            do {
                device = SEVGuest(device: try LinuxSEVGuestDevice(path: sevGuestPath))
            } catch let error as PlatformError where configFS.isPresent {
                // configfs-tsm can still give evidence; sealing will say why the device is not usable.
                deviceProblem = error.message
            }
        }
        let chain = try certificateChainPath.map { try PlatformSupport.certificateChain(path: $0) } ?? []
        try self.init(configFS: configFS.isPresent ? configFS : nil, sevGuest: device, privilegeLevel: privilegeLevel,
                      fallbackCertificates: chain, paths: (tsmRoot, sevGuestPath), deviceProblem: deviceProblem)
    }

    /// The platform over the given sources (tests pass fakes).
    init(configFS: ConfigFSTSM?, sevGuest: SEVGuest?, privilegeLevel: UInt32? = nil, fallbackCertificates: [[UInt8]] = [],
         paths: (tsm: String, device: String) = (ConfigFSTSM.defaultRoot, LinuxSEVGuestDevice.defaultPath),
         deviceProblem: String? = nil) throws {
        var sources: [EvidenceSource] = []
        if let configFS { sources.append(.configFS(configFS)) }
        if let sevGuest { sources.append(.sevGuest(sevGuest)) }
        guard !sources.isEmpty else {
            throw PlatformError(.unavailable, "no SEV-SNP attestation interface: \(paths.tsm) (configfs-tsm) "
                + "and \(paths.device) are both missing; run inside an SEV-SNP guest with the "
                + "sev-guest driver loaded (`modprobe sev-guest`), or use --backend sim")
        }
        var failures: [String] = []
        for source in sources {
            do {
                let (report, _) = try Self.report(from: source, reportData: SecureRandom.bytes(count: 64),
                                                  privilegeLevel: privilegeLevel)
                self.measurement = report.measurement
                self.vmpl = report.vmpl
                self.committedTCB = report.committedTCB
                self.source = source
                self.keyDevice = sevGuest
                self.keyDeviceProblem = deviceProblem ?? "\(paths.device) does not exist"
                self.privilegeLevel = privilegeLevel
                self.fallbackCertificates = fallbackCertificates
                return
            } catch let error as PlatformError where error.code == .unavailable && sources.count > 1 {
                failures.append(error.message)
            }
        }
        throw PlatformError(.unavailable, "no SEV-SNP attestation interface works: " + failures.joined(separator: "; "))
    }

    /// An SNP report over `reportData` with the VCEK (or VLEK), ASK and ARK.
    /// - Throws: ``PlatformError``; `.invalidEvidence` if the report does not parse, does not carry
    ///   `reportData`, or reports another measurement than at start.
    public func evidence(reportData: [UInt8]) throws -> Evidence {
        try PlatformSupport.checkReportData(reportData)
        let (report, blob, table) = try Self.fullReport(from: source, reportData: reportData, privilegeLevel: privilegeLevel)
        guard report.measurement == measurement else {
            throw PlatformError(.invalidEvidence, "the new report's measurement \(Hex.encode(report.measurement)) differs "
                + "from this guest's \(Hex.encode(measurement)); the attestation interface is not answering for this guest")
        }
        var certificates = table.chain(for: report.signingKey)
        if certificates.isEmpty { certificates = fallbackCertificates }
        return Evidence(platform: .sevSNP, blob: blob, certificates: certificates)
    }

    /// `HKDF-SHA384(SNP_GET_DERIVED_KEY(VCEK; policy, measurement, committed TCB; this VMPL), salt
    /// "enclava-snp-sealing-v1", info purpose ‖ measurement)`, 32 bytes. After a firmware update moves the
    /// committed TCB the key is another one, so state sealed under the old firmware no longer opens.
    /// - Throws: ``PlatformError`` `.sealingFailed` without `/dev/sev-guest` or when the firmware refuses.
    public func sealingKey(purpose: String) throws -> SecureBytes {
        guard !purpose.isEmpty else { throw PlatformError(.sealingFailed, "a sealing key needs a non-empty purpose") }
        guard let keyDevice else {
            throw PlatformError(.sealingFailed, "SEV-SNP sealing keys come from SNP_GET_DERIVED_KEY on the sev-guest "
                + "device, which is not usable (\(keyDeviceProblem)); load the sev-guest driver and run as root")
        }
        let hardwareKey = try keyDevice.derivedKey(.sealing(vmpl: vmpl, tcbVersion: committedTCB.rawValue))
        return try PlatformSupport.purposeKey(from: hardwareKey, salt: Self.sealingSalt, purpose: purpose, binding: measurement)
    }

    static func report(from source: EvidenceSource, reportData: [UInt8], privilegeLevel: UInt32?) throws -> (SNPReport, [UInt8]) {
        let (report, blob, _) = try fullReport(from: source, reportData: reportData, privilegeLevel: privilegeLevel)
        return (report, blob)
    }

    static func fullReport(from source: EvidenceSource, reportData: [UInt8], privilegeLevel: UInt32?)
        throws -> (SNPReport, [UInt8], SNPCertificateTable) {
        let blob: [UInt8]
        let table: SNPCertificateTable
        switch source {
        case .configFS(let tsm):
            let result = try tsm.report(inblob: reportData, privilegeLevel: privilegeLevel, expectedProvider: .sevGuest)
            blob = result.outblob
            table = try result.auxblob.map(SNPCertificateTable.init(parsing:)) ?? SNPCertificateTable(entries: [])
        case .sevGuest(let guest):
            (blob, table) = try guest.extendedReport(reportData: reportData, vmpl: privilegeLevel ?? 0)
        }
        guard blob.count == SNPReport.byteCount else {
            throw PlatformError(.invalidEvidence, "the SEV-SNP report has \(blob.count) bytes, expected \(SNPReport.byteCount)")
        }
        let report: SNPReport
        do {
            report = try SNPReport(parsing: blob)
        } catch {
            throw PlatformError(.invalidEvidence, "the SEV-SNP report does not parse: \(error)")
        }
        try PlatformSupport.checkEchoed(reportData: report.reportData, requested: reportData, what: "SEV-SNP report")
        return (report, blob, table)
    }
}
