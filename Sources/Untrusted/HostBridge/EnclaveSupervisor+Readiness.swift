import EnclavaWire
import Foundation

extension EnclaveSupervisor {
    /// Polls `Health` at `endpoint` until the enclave says it is ready — or, with
    /// ``HostBridgeConfiguration/serveWhileWaitingForKey``, that it waits for its model key (its owner then
    /// reaches it through the bridge: GetEvidence, ProvisionKey and Health are relayed in that state, and the
    /// enclave itself refuses sessions until it is ready).
    ///
    /// - Returns: the state it reported (`STATE_READY` or `STATE_WAITING_FOR_KEY`).
    /// - Throws: ``HostBridgeError`` `enclaveExited` if the process dies first, `enclaveFailed` if it reports
    ///   `STATE_FAILED`, `readyTimeout` when the configured timeout passes; `CancellationError` if stopped.
    @discardableResult
    func waitUntilReady(endpoint: TTRPCEndpoint, process: EnclaveProcess?) async throws -> Enclava_V1_HealthResponse.State {
        let configuration = self.configuration
        let deadline = ContinuousClock.now + configuration.readyTimeout
        var lastProblem = if case .unix(let path) = endpoint { "its socket \(path) did not appear" } else { "\(endpoint) did not answer" }
        while ContinuousClock.now < deadline {
            try Task.checkCancellation()
            if self.stopping { throw CancellationError() }
            if let process, let how = process.exitDescription {
                let tail = process.stderrTail
                if let reason = HostBridgeError.enclaveReason(in: tail) {
                    throw HostBridgeError(.enclaveExited, "the enclave could not start: \(reason)", enclaveStderr: tail)
                }
                throw HostBridgeError(.enclaveExited, "the enclave \(how) before it was ready without saying why; run with "
                                         + "--log-level info to see its log", enclaveStderr: tail)
            }
            let socketMissing = if case .unix(let path) = endpoint { !FileManager.default.fileExists(atPath: path) } else { false }
            if !socketMissing {
                do {
                    let health = try await self.health(at: endpoint)
                    switch EnclaveReadiness(health, serveWhileWaitingForKey: configuration.serveWhileWaitingForKey) {
                    case .ready:
                        return .ready
                    case .waitingForKey:
                        return .waitingForKey
                    case .failed(let message):
                        throw HostBridgeError(.enclaveFailed, "the enclave reported FAILED: \(message)",
                                             enclaveStderr: process?.stderrTail ?? [])
                    case .notYet(let problem):
                        lastProblem = problem
                    }
                } catch let error as HostBridgeError {
                    throw error
                } catch {
                    lastProblem = "\(error)"
                }
            }
            try await Task.sleep(for: configuration.healthPollInterval)
        }
        throw HostBridgeError(.readyTimeout,
                             "the enclave was not ready within \(configuration.readyTimeout) (last: \(lastProblem)); "
                                 + "raise --ready-timeout or run with --log-level info to see the enclave's log",
                             enclaveStderr: process?.stderrTail ?? [])
    }

    /// One `Health` call on a fresh connection (an hvsock endpoint gets a second of retries for a guest that is
    /// not listening yet).
    func health(at endpoint: TTRPCEndpoint) async throws -> Enclava_V1_HealthResponse {
        let client = try await TTRPCClient.connect(to: endpoint, group: self.group, connectTimeout: .seconds(1))
        do {
            let health = try await client.call(.health, Enclava_V1_HealthRequest(), as: Enclava_V1_HealthResponse.self,
                                               timeout: .seconds(2))
            await client.close()
            return health
        } catch {
            await client.close()
            throw error
        }
    }
}
