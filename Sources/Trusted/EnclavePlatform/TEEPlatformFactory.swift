import EnclavaAttestation
import EnclavaCrypto

/// The backends `enclava-runtime --backend` can name.
public enum TEEBackend: String, Sendable, CaseIterable {
    /// The simulated SEV-SNP platform under `$ENCLAVA_HOME` (``SimPlatform``).
    case sim
    /// An AMD SEV-SNP confidential VM (``SNPPlatform``).
    case sevSNP = "sev-snp"
    /// An Intel TDX trust domain (``TDXPlatform``).
    case tdx
    /// An Intel SGX enclave under Gramine (``GramineSGXPlatform``).
    case sgx
}

/// Builds the ``TEEPlatform`` of a backend, or finds which TEE this machine is.
public enum TEEPlatformFactory {
    /// Where each backend looks; tests point them at fake trees.
    public struct Options: Sendable {
        /// `$ENCLAVA_HOME` of the simulated platform.
        public var simHome: String
        /// The file whose SHA-384 is the simulated measurement.
        public var executablePath: String
        /// The evidence format of the simulated platform (`--sim-format`).
        public var simFormat: SimulatedPlatform.EvidenceFormat = .snp
        /// The configfs-tsm report directory (SEV-SNP, TDX).
        public var tsmRoot: String
        /// The SEV guest device (SEV-SNP evidence fallback and sealing keys).
        public var sevGuestPath: String
        /// Gramine's attestation pseudo-files (SGX).
        public var gramineRoot: String
        /// SEV-SNP: the VMPL to request reports at (nil: the kernel's default).
        public var snpPrivilegeLevel: UInt32?
        /// SEV-SNP: a PEM chain (VCEK or VLEK, ASK, ARK) to send when the host provides no certificates.
        public var snpCertificateChainPath: String?
        /// SGX: the Gramine sealing key to derive from.
        public var sgxSealingKey: GramineAttestation.SealingKey
        /// TDX: a secret released to this TD after attestation, for sealing keys (nil: no sealing on TDX).
        public var tdxSealingSecret: SecureBytes?

        /// The real paths.
        public init(simHome: String = SimulatedPlatform.defaultHome(), executablePath: String = "/proc/self/exe",
                    tsmRoot: String = ConfigFSTSM.defaultRoot, sevGuestPath: String = LinuxSEVGuestDevice.defaultPath,
                    gramineRoot: String = GramineAttestation.defaultRoot, snpPrivilegeLevel: UInt32? = nil,
                    snpCertificateChainPath: String? = nil, sgxSealingKey: GramineAttestation.SealingKey = .mrenclave,
                    tdxSealingSecret: SecureBytes? = nil) {
            self.simHome = simHome
            self.executablePath = executablePath
            self.tsmRoot = tsmRoot
            self.sevGuestPath = sevGuestPath
            self.gramineRoot = gramineRoot
            self.snpPrivilegeLevel = snpPrivilegeLevel
            self.snpCertificateChainPath = snpCertificateChainPath
            self.sgxSealingKey = sgxSealingKey
            self.tdxSealingSecret = tdxSealingSecret
        }
    }

    /// Parses a `--backend` value: a backend name, or `auto` (nil) to detect the TEE.
    /// - Throws: ``PlatformError`` `.unavailable` naming the accepted values.
    public static func parse(_ text: String) throws -> TEEBackend? {
        if text == "auto" { return nil }
        guard let backend = TEEBackend(rawValue: text.lowercased() == "snp" ? "sev-snp" : text.lowercased()) else {
            let names = (TEEBackend.allCases.map(\.rawValue) + ["auto"]).joined(separator: ", ")
            throw PlatformError(.unavailable, "backend `\(text)` is unknown; use one of \(names)")
        }
        return backend
    }

    /// The platform of `backend`.
    /// - Throws: ``PlatformError`` `.unavailable` naming the device or directory that is missing and what
    ///   to check; ``SimulatedPlatformError`` when the simulated platform is not initialised.
    public static func make(_ backend: TEEBackend, options: Options = Options()) throws -> any TEEPlatform {
        switch backend {
        case .sim:
            try SimPlatform(home: options.simHome, format: options.simFormat, executablePath: options.executablePath)
        case .sevSNP:
            try SNPPlatform(tsmRoot: options.tsmRoot, sevGuestPath: options.sevGuestPath,
                            privilegeLevel: options.snpPrivilegeLevel, certificateChainPath: options.snpCertificateChainPath)
        case .tdx:
            try TDXPlatform(tsmRoot: options.tsmRoot, sealingSecret: options.tdxSealingSecret)
        case .sgx:
            try GramineSGXPlatform(root: options.gramineRoot, sealingPolicy: options.sgxSealingKey)
        }
    }

    /// The hardware TEE this machine offers, from the interfaces present: Gramine's `attestation_type`
    /// (SGX), the configfs-tsm `provider` (`sev_guest`, `tdx_guest`), then `/dev/sev-guest`. Never `sim`.
    /// - Throws: ``PlatformError`` `.unavailable` listing what was checked when none is there.
    public static func detect(options: Options = Options()) throws -> TEEBackend {
        try detect(options: options, files: POSIXFileSystem())
    }

    static func detect(options: Options, files: any PlatformFileSystem) throws -> TEEBackend {
        if files.exists(atPath: options.gramineRoot + "/attestation_type") { return .sgx }
        let tsm = ConfigFSTSM(root: options.tsmRoot, files: files)
        var notes: [String] = []
        if tsm.isPresent {
            do {
                switch try tsm.probeProvider() {
                case ConfigFSTSM.Provider.sevGuest.rawValue: return .sevSNP
                case ConfigFSTSM.Provider.tdxGuest.rawValue: return .tdx
                case let other: notes.append("\(options.tsmRoot) is served by `\(other)`, which Enclava does not know")
                }
            } catch let error as PlatformError {
                notes.append(error.message)
            }
        } else {
            notes.append("\(options.tsmRoot) does not exist")
        }
        if files.exists(atPath: options.sevGuestPath) { return .sevSNP }
        notes.append("\(options.sevGuestPath) does not exist")
        notes.append("\(options.gramineRoot)/attestation_type does not exist")
        throw PlatformError(.unavailable, "no hardware TEE found (" + notes.joined(separator: "; ") + "); run inside an "
            + "SEV-SNP or TDX guest or under Gramine-SGX, or use --backend sim")
    }
}

extension ConfigFSTSM {
    /// The `provider` of a fresh entry (which is removed again), without making a report.
    /// - Throws: ``PlatformError`` `.unavailable` when there is no configfs-tsm or no provider.
    public func probeProvider() throws -> String {
        let entry = try makeEntry()
        defer { try? files.removeDirectory(atPath: entry) }
        return try readProvider(entry)
    }
}
