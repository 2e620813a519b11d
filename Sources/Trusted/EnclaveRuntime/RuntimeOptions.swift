import EnclavaAttestation
import EnclavaWire
import EnclaveSealing

/// How the enclave runtime is started (the `enclava-runtime` command line, DESIGN.md §3).
public struct RuntimeOptions: Sendable {
    /// TEE backends this build can run on.
    public enum Backend: String, Sendable, CaseIterable {
        /// The simulated SEV-SNP platform under `$ENCLAVA_HOME`.
        case sim

        /// Parses a `--backend` value.
        /// - Throws: ``RuntimeError`` `.unsupportedBackend` naming the supported backends.
        public init(parsing text: String) throws {
            guard let backend = Backend(rawValue: text) else {
                let supported = Backend.allCases.map(\.rawValue).joined(separator: ", ")
                throw RuntimeError(.unsupportedBackend,
                                   "backend `\(text)` is not supported by this runtime; supported backends: \(supported)")
            }
            self = backend
        }
    }

    /// Where the runtime listens.
    public enum ListenAddress: Sendable, Equatable, CustomStringConvertible {
        /// A Unix domain socket at this path (a runtime launched by `enclava serve`, the control socket).
        case unix(path: String)
        /// AF_VSOCK on any context ID (inside a confidential VM or Nitro enclave).
        case vsock(port: UInt32)
        /// TCP, for tests only: nothing inside a TEE should be reachable over a host's network.
        case tcp(host: String, port: Int)

        /// Parses `unix:PATH`, `vsock:PORT` or `tcp:HOST:PORT`.
        /// - Throws: ``RuntimeError`` `.invalidOption` naming the accepted forms.
        public init(parsing text: String) throws {
            let forms = "unix:PATH, vsock:PORT or tcp:HOST:PORT (tests only)"
            if text.hasPrefix("unix:"), text.count > 5 {
                self = .unix(path: String(text.dropFirst(5)))
            } else if text.hasPrefix("vsock:") {
                guard let port = UInt32(text.dropFirst(6)), port != UInt32.max else {
                    throw RuntimeError(.invalidOption, "--listen vsock:PORT needs a decimal port below 4294967295, got `\(text)`")
                }
                self = .vsock(port: port)
            } else if text.hasPrefix("tcp:") {
                let rest = text.dropFirst(4)
                guard let colon = rest.lastIndex(of: ":"), colon > rest.startIndex,
                      let port = Int(rest[rest.index(after: colon)...]), (0...65535).contains(port) else {
                    throw RuntimeError(.invalidOption, "--listen tcp:HOST:PORT needs a host and a port 0…65535, got `\(text)`")
                }
                var host = rest[..<colon]
                if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
                self = .tcp(host: String(host), port: port)
            } else {
                throw RuntimeError(.invalidOption, "--listen must be \(forms) (e.g. unix:/tmp/enclava.sock), got `\(text)`")
            }
        }

        /// Whether only the launching host can reach this address (a control socket must be): a Unix socket in the
        /// host's private folder, or a guest's vsock port, which only its host can dial. Never TCP.
        public var isPrivateToTheHost: Bool {
            if case .tcp = self { return false }
            return true
        }

        public var description: String {
            switch self {
            case .unix(let path): "unix:\(path)"
            case .vsock(let port): "vsock:\(port)"
            case .tcp(let host, let port): host.contains(":") ? "tcp:[\(host)]:\(port)" : "tcp:\(host):\(port)"
            }
        }
    }

    /// The TEE backend.
    public var backend: Backend
    /// Where to listen.
    public var listen: ListenAddress
    /// The private control socket of the launching host (`--control`, unix:PATH or a VM's vsock:PORT), the only place
    /// Shutdown and the sealed-state exchange are accepted;
    /// nil: no control socket (the runtime then stops on SIGTERM/SIGINT only).
    public var control: ListenAddress?
    /// Where the key broker is reached (`--key-broker`): the host bridge's forwarding socket (`unix:PATH`, a
    /// launched runtime) or the host's vsock port (`vsock:2:PORT`, inside a VM), which connects only to the broker
    /// address the host was given (`enclava serve --key-broker`). Nil: no broker.
    public var keyBroker: TTRPCEndpoint?

    /// Parses `--key-broker`: `unix:PATH`, `vsock:CID:PORT` (a VM's guest dials the host, CID 2) or `tcp:HOST:PORT`
    /// (tests). Hybrid vsock is the host's side of a VMM and never a guest's address.
    /// - Throws: ``RuntimeError`` `.invalidOption` naming the accepted forms.
    public static func keyBrokerEndpoint(parsing text: String) throws -> TTRPCEndpoint {
        let forms = "unix:PATH (the bridge's forwarding socket) or vsock:CID:PORT (inside a VM: vsock:2:1025, the host)"
        guard text.hasPrefix("unix:") || text.hasPrefix("vsock:") || text.hasPrefix("tcp:"),
              let endpoint = try? TTRPCEndpoint(parsing: text) else {
            throw RuntimeError(.invalidOption, "--key-broker must be \(forms), got `\(text)`")
        }
        if case .unix(let path) = endpoint, path.isEmpty {
            throw RuntimeError(.invalidOption, "--key-broker must be \(forms), got `\(text)`")
        }
        return endpoint
    }
    /// The `.eimg` to load.
    public var imagePath: String
    /// The simulated platform's home (`--sim-home`, default `$ENCLAVA_HOME` or `~/.enclava`).
    public var simHome: String
    /// The evidence the sim backend produces (`--sim-format snp|tdx|sgx`, default snp).
    public var simFormat: SimFormat = .snp
    /// The sim backend's evidence formats (``SimulatedPlatform/EvidenceFormat``).
    public typealias SimFormat = SimulatedPlatform.EvidenceFormat
    /// The image signer's SHA-256 SPKI fingerprint (`--signer-fingerprint`, 64 lower-case hex digits): the runtime
    /// refuses an image signed by any other key. Nil accepts any signer whose signature verifies (logged as a
    /// warning). On hardware the launch command line is measured, so the pin becomes part of the measurement.
    public var signerFingerprint: String?
    /// Where the image's sealed state is kept between starts (`--sealed-state`), to open the model key with no owner
    /// or broker (``SealedRestart``). Nil: every start is a release.
    public var sealedState: SealedStateKeeping?
    /// With ``SealedStateKeeping/host``: how long a start waits for the host's offer before asking for a release.
    public var sealedStateOfferTimeout: Duration = .seconds(10)

    /// Where the sealed state lives between starts.
    public enum SealedStateKeeping: Sendable, Equatable {
        /// A file this runtime reads at start and atomically rewrites (0600) after a release (`--sealed-state PATH`:
        /// a runtime run on its own, on a file system the host cannot reach otherwise).
        case file(path: String)
        /// The host keeps it (`--sealed-state host`, what `enclava serve --state-dir` passes): it offers its copy
        /// over the control socket at start (`OfferSealedState`) and takes each new one (`TakeSealedState`), so a
        /// confidential VM needs no shared file system.
        case host
    }
    /// Development only: keep sealed memory that cannot be `mlock`ed instead of refusing to start.
    public var allowUnlockedMemory: Bool
    /// Applies ``ProcessHardening`` (not dumpable, no core files). Tests that run the runtime inside the
    /// test process turn it off.
    public var hardenProcess: Bool
    /// Bounds of the session table.
    public var sessionLimits: SessionStateMachine.Limits
    /// Caps on request tensors.
    public var tensorLimits: TensorLimits

    /// Creates options.
    public init(backend: Backend = .sim, listen: ListenAddress, imagePath: String, simHome: String,
                allowUnlockedMemory: Bool = false, hardenProcess: Bool = true,
                sessionLimits: SessionStateMachine.Limits = .init(), tensorLimits: TensorLimits = .init()) {
        self.backend = backend
        self.listen = listen
        self.imagePath = imagePath
        self.simHome = simHome
        self.allowUnlockedMemory = allowUnlockedMemory
        self.hardenProcess = hardenProcess
        self.sessionLimits = sessionLimits
        self.tensorLimits = tensorLimits
    }

    /// The sealed-memory policy these options ask for.
    public var memoryLockPolicy: MemoryLockPolicy { allowUnlockedMemory ? .allowUnlocked : .required }
}

extension RuntimeOptions {
    /// Parses a `--signer-fingerprint` value: 64 hex digits (as `enclava inspect` prints them), case-insensitive,
    /// with an optional `sha256:` prefix.
    /// - Throws: ``RuntimeError`` `.invalidOption` naming the expected form.
    public static func parseSignerFingerprint(_ text: String) throws -> String {
        var hex = text.lowercased()
        if hex.hasPrefix("sha256:") { hex.removeFirst(7) }
        guard hex.count == 64, hex.allSatisfy({ $0.isHexDigit }) else {
            throw RuntimeError(.invalidOption, "--signer-fingerprint must be the 64 hex digits of the signer's SHA-256 "
                + "fingerprint, as `enclava inspect IMAGE` prints it; got `\(text)`")
        }
        return hex
    }

    /// Parses a `--sealed-state` value: `host`, or a file path (the file need not exist yet; its folder must; a file
    /// named `host` is `./host`).
    /// - Throws: ``RuntimeError`` `.invalidOption` for an empty path or one naming a folder.
    public static func parseSealedState(_ text: String) throws -> SealedStateKeeping {
        if text == "host" { return .host }
        guard !text.isEmpty, !text.hasSuffix("/"), !text.hasSuffix("/."), !text.hasSuffix("/.."), text != ".", text != ".." else {
            throw RuntimeError(.invalidOption, "--sealed-state must be `host` (the host keeps it, over --control) or name a "
                               + "file (e.g. state/IMAGE.sealed), got `\(text)`")
        }
        return .file(path: text)
    }

    /// `$ENCLAVA_HOME`, or `~/.enclava`.
    public static func defaultSimHome() -> String {
        SimulatedPlatform.defaultHome()
    }
}
