import EnclavaAttestation
import EnclavaCrypto

/// The simulation backend: a local process that produces real-format SEV-SNP evidence under the
/// simulated AMD chain of `enclava sim init` (``SimulatedPlatform``), so the same parser, signature,
/// chain and policy checks run as on hardware. The evidence is marked simulated by its chain, and a
/// verifier accepts it only when its policy allows simulation. **No memory protection from the host.**
public struct SimPlatform: TEEPlatform {
    /// `sim`.
    public var backend: String { "sim" }
    /// Always true.
    public var isSimulated: Bool { true }
    /// SHA-384 of the running executable.
    public let measurement: [UInt8]
    /// The simulated platform this enclave "runs on".
    public let platform: SimulatedPlatform
    private let signingKey: ECDSAPrivateKey

    /// Guest policy of simulated reports: ABI 1.55, SMT allowed, reserved bit 17 set, **not debug**.
    public static let guestPolicy = SNPGuestPolicy(abiMajor: 1, abiMinor: 55, flags: [.smt, .reservedMustBeOne])
    /// `PLATFORM_INFO` of simulated reports: SMT enabled, TSME enabled.
    public static let platformInfo: UInt64 = 0b11

    /// Loads the simulated platform and measures the executable.
    ///
    /// - Parameters:
    ///   - home: the `$ENCLAVA_HOME` that holds `sim/` (``SimulatedPlatform/defaultHome()``).
    ///   - executablePath: the file whose SHA-384 is the measurement; the running executable by default.
    /// - Throws: ``SimulatedPlatformError`` if the simulated platform is missing or damaged;
    ///   ``PlatformError`` if the executable cannot be read.
    public init(home: String, executablePath: String = "/proc/self/exe") throws {
        platform = try SimulatedPlatform.load(home: home)
        signingKey = try platform.vcekSigningKey()
        measurement = try PlatformSupport.measureExecutable(at: executablePath)
    }

    /// An SNP report (version 3) with this measurement and `reportData`, signed by the simulated VCEK,
    /// with the certificates VCEK, ASK, ARK (DER).
    public func evidence(reportData: [UInt8]) throws -> Evidence {
        try PlatformSupport.checkReportData(reportData)
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
