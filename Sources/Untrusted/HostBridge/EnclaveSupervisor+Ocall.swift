import EnclavaWire
import Foundation

extension EnclaveSupervisor {
    /// Loads the in-process enclave (`ocall:LIB`), checks that it says ready (or waiting for its key, when that is
    /// served), and lets clients in.
    /// - Throws: ``HostBridgeError`` `launchFailed` (the library, its symbols, its ABI, or the enclave's own reason)
    ///   or `enclaveFailed`.
    func loadInProcess(_ ocall: OcallEnclaveConfiguration) async throws {
        self.logger.info("loading the in-process enclave", metadata: ["library": "\(ocall.libraryPath)", "image": "\(ocall.imagePath)"])
        let enclave = try await OcallEnclave.load(ocall, maxFrameBytes: self.configuration.maxFrameBytes,
                                                  maxConnections: self.configuration.maxConnections, logger: self.logger)
        self.ocallEnclave = enclave
        let health: Enclava_V1_HealthResponse
        do {
            health = try await enclave.health()
        } catch {
            throw HostBridgeError(.enclaveFailed, "the in-process enclave did not answer Health: \(error)")
        }
        switch EnclaveReadiness(health, serveWhileWaitingForKey: self.configuration.serveWhileWaitingForKey) {
        case .ready:
            self.logger.info("the in-process enclave is ready", metadata: ["library": "\(ocall.libraryPath)"])
        case .waitingForKey:
            self.startedWaitingForKey = true
            self.logger.notice("the in-process enclave is waiting for its model key: relaying GetEvidence, ProvisionKey and Health to it (its owner runs `enclava provision`)")
        case .failed(let message), .notYet(let message):
            throw HostBridgeError(.enclaveFailed, "the in-process enclave is not ready: \(message)")
        }
        self.availability = .readyInProcess(enclave)
    }

    /// Sends Shutdown on the enclave's control connection and destroys it, within the grace period.
    func unloadInProcess() async {
        guard let enclave = self.ocallEnclave else { return }
        self.ocallEnclave = nil
        let outcome = await enclave.stop(grace: self.configuration.shutdownGracePeriod)
        self.logger.info("\(outcome)")
    }
}
