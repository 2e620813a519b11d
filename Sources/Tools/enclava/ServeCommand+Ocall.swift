import EnclavaAttestation
import Foundation
import HostBridge

extension ServeCommand {
    /// `--enclave ocall:LIB`: the enclave library's absolute path, or nil when the address is another kind.
    /// - Throws: ``CLIError`` for an empty or unreadable path.
    static func ocallLibrary(_ text: String) throws -> String? {
        guard text.hasPrefix("ocall:") else { return nil }
        let path = String(text.dropFirst("ocall:".count))
        guard !path.isEmpty else {
            throw CLIError("--enclave ocall:LIB needs the enclave library's path, e.g. ocall:.build/release/libEnclavaEnclave.so")
        }
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw CLIError("--enclave ocall:\(path): no readable file there; build the enclave library with "
                           + "`swift build --product EnclavaEnclave` and give its path (libEnclavaEnclave.so)")
        }
        return URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// The bridge's in-process enclave for `--enclave ocall:LIB --image X.eimg`: the options a launched runtime takes
    /// (sim home and format, signer pin, unlocked memory) go to the library; what needs a separate process is refused.
    /// - Throws: ``CLIError`` naming the option that does not apply.
    func ocallConfiguration(library: String, format: SimulatedPlatform.EvidenceFormat) throws -> HostBridgeConfiguration.Enclave {
        guard let image else {
            throw CLIError("--enclave ocall:\(library) needs --image X.eimg: the in-process enclave is created from that image")
        }
        if stateDir != nil {
            throw CLIError("--state-dir is not supported with --enclave ocall: yet; the in-process enclave keeps no sealed state")
        }
        if keyBroker != nil {
            throw CLIError("--key-broker is not supported with --enclave ocall: yet; use an image released by its owner or sealed")
        }
        if runtime != nil {
            throw CLIError("--runtime names the enclava-runtime executable to launch; with --enclave ocall: the enclave is the library")
        }
        var ocall = OcallEnclaveConfiguration(libraryPath: library,
                                              imagePath: URL(fileURLWithPath: image).standardizedFileURL.path,
                                              simHome: CLI.simHome(simHome))
        ocall.simFormat = format.rawValue
        ocall.signerFingerprint = signerFingerprint.map { $0.lowercased().replacingOccurrences(of: "sha256:", with: "") }
        ocall.allowUnlockedMemory = allowUnlockedMemory
        return .ocall(ocall)
    }
}
