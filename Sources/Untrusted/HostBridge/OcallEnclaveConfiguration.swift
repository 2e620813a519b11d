/// How the bridge loads an in-process enclave (`enclava serve --enclave ocall:LIB --image X.eimg`, issue 11): the
/// trusted runtime built as a shared library (`libEnclavaEnclave.so`) exporting the edge ABI of
/// `CShims/CEnclaveEdge`, loaded into the bridge process as the SGX SDK's simulation mode runs enclave code. The
/// bridge offers it the image through the `read_image` ocall and relays client frames through the edge.
public struct OcallEnclaveConfiguration: Sendable {
    /// The library file (`libEnclavaEnclave.so`).
    public var libraryPath: String
    /// The signed image the enclave copies in.
    public var imagePath: String
    /// The simulated platform's home.
    public var simHome: String
    /// The simulated evidence: `snp`, `tdx` or `sgx`.
    public var simFormat: String = "snp"
    /// The pinned image signer (64 hex digits), checked by the enclave; nil accepts any signer that verifies.
    public var signerFingerprint: String?
    /// Development only: keep sealed memory that cannot be locked in RAM.
    public var allowUnlockedMemory = false

    /// Creates a configuration.
    /// - Parameters:
    ///   - libraryPath: the enclave library.
    ///   - imagePath: the image.
    ///   - simHome: the simulated platform's home.
    public init(libraryPath: String, imagePath: String, simHome: String) {
        self.libraryPath = libraryPath
        self.imagePath = imagePath
        self.simHome = simHome
    }

    /// The `sim_format` number of the edge options.
    var simFormatNumber: UInt32 {
        switch simFormat {
        case "tdx": 1
        case "sgx": 2
        default: 0
        }
    }
}
