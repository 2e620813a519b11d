/// The version every Enclava binary reports (`enclava version`, `enclava --version`, `enclava-runtime --version`).
/// One constant, so the CLI and the enclave it launches cannot disagree about what they are.
public enum EnclavaVersion {
    /// Semantic version of this build.
    public static let current = "0.2.0"
    /// The wire protocol this build speaks (DESIGN.md §2): the ttrpc service name.
    public static let service = "enclava.v1.Enclave"
}
