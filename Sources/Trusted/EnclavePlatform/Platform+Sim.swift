import EnclavaAttestation
import EnclavaCrypto

/// The simulation backend: a local process that produces real-format evidence under the simulated
/// hierarchies of `enclava sim init` (``SimulatedPlatform``), so the same parser, signature, chain and
/// policy checks run as on hardware. The evidence format is chosen with `--sim-format`
/// (``SimulatedPlatform/EvidenceFormat``): an SEV-SNP report v3 under the simulated ARK → ASK → VCEK
/// (default), a TDX quote v4 or an SGX DCAP quote v3 under the simulated Intel PCK chain
/// (``SimulatedIntelQuoter``) — a simulated TD reports the fixed simulated firmware as MRTD and this runtime in
/// RTMR1 (``SimulatedTDXRegisters``). The evidence is marked simulated by its chain, and a verifier accepts it
/// only when its policy allows simulation. **No memory protection from the host.**
public struct SimPlatform: TEEPlatform {
    /// `sim`.
    public var backend: String { "sim" }
    /// Always true.
    public var isSimulated: Bool { true }
    /// SHA-384 of the running executable: the SNP `MEASUREMENT` (and, extended, TDX RTMR1), and what
    /// simulated sealing keys are bound to under every format.
    public let measurement: [UInt8]
    /// The measurement the evidence reports: ``measurement`` for `snp`; the fixed simulated firmware MRTD for
    /// `tdx` (the runtime is in RTMR1, ``tdxRegisters``); the SHA-256 of the executable for `sgx` (MRENCLAVE
    /// is 32 bytes).
    public let evidenceMeasurement: [UInt8]
    /// For `tdx`: MRTD and RTMR0–3 of the simulated TD running this executable (``SimulatedTDXRegisters``).
    public let tdxRegisters: SimulatedTDXRegisters
    /// The evidence format.
    public let format: SimulatedPlatform.EvidenceFormat
    /// The simulated platform this enclave "runs on".
    public let platform: SimulatedPlatform
    private let signer: Signer
    /// The simulated Intel collateral (TCB Info, QE Identity, CRLs) sent with `tdx` and `sgx` quotes, so
    /// that clients evaluate a TCB status in simulation as they would on hardware.
    private let collateral: EvidenceCollateral?

    /// What signs the evidence.
    private enum Signer: Sendable {
        case vcek(ECDSAPrivateKey)
        case quoter(SimulatedIntelQuoter)
    }

    /// Guest policy of simulated reports: ABI 1.55, SMT allowed, reserved bit 17 set, **not debug**.
    public static let guestPolicy = SNPGuestPolicy(abiMajor: 1, abiMinor: 55, flags: [.smt, .reservedMustBeOne])
    /// `PLATFORM_INFO` of simulated reports: SMT enabled, TSME enabled.
    public static let platformInfo: UInt64 = 0b11

    /// Loads the simulated platform and measures the executable.
    ///
    /// - Parameters:
    ///   - home: the `$ENCLAVA_HOME` that holds `sim/` (``SimulatedPlatform/defaultHome()``).
    ///   - format: the evidence format (`snp` by default). `tdx` and `sgx` create the simulated Intel
    ///     hierarchy in a home made before it existed.
    ///   - executablePath: the file whose digest is the measurement; the running executable by default.
    /// - Throws: ``SimulatedPlatformError`` if the simulated platform is missing or damaged;
    ///   ``PlatformError`` if the executable cannot be read.
    public init(home: String, format: SimulatedPlatform.EvidenceFormat = .snp, executablePath: String = "/proc/self/exe") throws {
        platform = try SimulatedPlatform.load(home: home)
        self.format = format
        switch format {
        case .snp:
            signer = .vcek(try platform.vcekSigningKey())
            collateral = nil
        case .tdx, .sgx:
            let intel = try SimulatedIntelPlatform.loadOrCreate(home: home)
            signer = .quoter(try SimulatedIntelQuoter(platform: intel))
            collateral = EvidenceCollateral(quote: try intel.collateral(for: format.platform))
        }
        measurement = try PlatformSupport.measureExecutable(at: executablePath)
        tdxRegisters = SimulatedTDXRegisters(runtimeDigest: measurement)
        switch format {
        case .snp:
            evidenceMeasurement = measurement
        case .tdx:
            evidenceMeasurement = tdxRegisters.mrTD
        case .sgx:
            do {
                evidenceMeasurement = try format.measurement(ofExecutableAt: executablePath)
            } catch {
                throw PlatformError(.measurementFailed, "cannot measure the runtime executable \(executablePath): \(error)")
            }
        }
    }

    /// Evidence in ``format`` whose report data is `reportData`.
    public func evidence(reportData: [UInt8]) throws -> Evidence {
        try PlatformSupport.checkReportData(reportData)
        switch signer {
        case .vcek(let key):
            return try snpEvidence(reportData: reportData, signingKey: key)
        case .quoter(let quoter):
            do {
                let quote = format == .tdx
                    ? try quoter.tdxQuote(mrTD: tdxRegisters.mrTD, rtmrs: tdxRegisters.rtmrs, reportData: reportData)
                    : try quoter.sgxQuote(mrEnclave: evidenceMeasurement, reportData: reportData)
                // The PCK chain travels inside the quote (certification data type 5).
                return Evidence(platform: format.platform, blob: quote, certificates: [], collateral: collateral)
            } catch {
                throw PlatformError(.evidenceFailed, "cannot make the simulated \(format.rawValue) quote: \(error)")
            }
        }
    }

    /// An SNP report (version 3) with this measurement and `reportData`, signed by the simulated VCEK,
    /// with the certificates VCEK, ASK, ARK (DER).
    private func snpEvidence(reportData: [UInt8], signingKey: ECDSAPrivateKey) throws -> Evidence {
        var report = SNPReport()
        report.version = 3
        report.guestSVN = 0
        report.policy = Self.guestPolicy
        report.vmpl = 0
        report.currentTCB = platform.tcb
        report.reportedTCB = platform.tcb
        report.committedTCB = platform.tcb
        report.launchTCB = platform.tcb
        report.platformInfo = Self.platformInfo
        report.signingKey = .vcek
        report.reportData = reportData
        report.measurement = measurement
        report.reportID = SecureRandom.bytes(count: 32)
        report.reportIDMA = [UInt8](repeating: 0xFF, count: 32)
        report.cpuidFamily = 0x19
        report.cpuidModel = 0x01
        report.cpuidStepping = 0x01
        report.chipID = platform.chipID
        (report.currentMajor, report.currentMinor, report.currentBuild) = (1, 55, 21)
        (report.committedMajor, report.committedMinor, report.committedBuild) = (1, 55, 21)
        do {
            try report.sign(with: signingKey)
        } catch {
            throw PlatformError(.evidenceFailed, "cannot sign the simulated report: \(error)")
        }
        return Evidence(platform: .sevSNP, blob: report.serialized(), certificates: platform.certificateChainDER)
    }

    /// `HKDF-SHA384` of the simulated platform secret, bound to this measurement and `purpose`
    /// (see ``SimulatedPlatform/sealingKey(measurement:purpose:)``).
    public func sealingKey(purpose: String) throws -> SecureBytes {
        try platform.sealingKey(measurement: measurement, purpose: purpose)
    }
}
