/// The TCB status of an Intel SGX or TDX platform, from Intel's TCB Info and QE Identity collateral.
/// Anything other than ``upToDate`` comes with advisory IDs (`INTEL-SA-…`) that say what is missing.
public enum TCBStatus: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// The platform is patched to the latest TCB.
    case upToDate = "UpToDate"
    /// Patched, but software mitigations (listed in the advisories) are needed.
    case swHardeningNeeded = "SWHardeningNeeded"
    /// Patched, but the platform configuration (e.g. BIOS settings) needs changes.
    case configurationNeeded = "ConfigurationNeeded"
    /// Both of the above.
    case configurationAndSWHardeningNeeded = "ConfigurationAndSWHardeningNeeded"
    /// The platform lacks security updates.
    case outOfDate = "OutOfDate"
    /// Out of date, and the configuration needs changes too.
    case outOfDateConfigurationNeeded = "OutOfDateConfigurationNeeded"
    /// The TCB level has been revoked: never trust this platform.
    case revoked = "Revoked"

    /// The raw value, as Intel spells it.
    public var description: String { rawValue }

    /// Intel QVL's convergence of a platform (or TDX) status with a QE Identity or TDX module status
    /// (`convergeTcbStatusWithQeTcbStatus`, `convergeTcbStatusWithTdxModuleStatus`): an out-of-date
    /// component makes the whole platform out of date; a revoked one revokes it.
    func converged(with component: TCBStatus) -> TCBStatus {
        switch component {
        case .revoked:
            return .revoked
        case .outOfDate, .outOfDateConfigurationNeeded:
            switch self {
            case .upToDate, .swHardeningNeeded: return .outOfDate
            case .configurationNeeded, .configurationAndSWHardeningNeeded: return .outOfDateConfigurationNeeded
            default: return self
            }
        default:
            return self
        }
    }
}
