import EnclavaWire
import Logging

extension EnclaveSupervisor {
    /// Watches an attached enclave (one the bridge did not launch) after it first became ready: `Health` every
    /// ``HostBridgeConfiguration/attachedHealthInterval``; when it stops answering (restarted by its VMM, its VM
    /// rebooting), clients are told it is unavailable and it is polled with a delay doubling up to
    /// ``HostBridgeConfiguration/attachedReconnectMaxDelay`` until it is ready again. One log line per change.
    ///
    /// A slow answer is not an outage: a `Health` call that only ran out of time (a loaded host) does not count,
    /// and the enclave is declared down only after ``failuresBeforeDown`` failures in a row (refused, closed, or
    /// reporting a state other than ready).
    func watchAttached(endpoint: TTRPCEndpoint, health: TTRPCEndpoint) {
        self.attachMonitor = Task { [weak self] in
            await self?.monitorAttached(endpoint: endpoint, health: health)
        }
    }

    static let failuresBeforeDown = 3

    private func monitorAttached(endpoint: TTRPCEndpoint, health healthEndpoint: TTRPCEndpoint) async {
        let configuration = self.configuration
        var serving = true
        var failures = 0
        var delay = configuration.healthPollInterval
        while !Task.isCancelled && !self.stopping {
            var problem: String?
            do {
                let health = try await self.health(at: healthEndpoint)
                let ready = health.state == .ready || (health.state == .waitingForKey && configuration.serveWhileWaitingForKey)
                if !ready { problem = "it reports \(health.state)" + (health.message.isEmpty ? "" : ": \(health.message)") }
            } catch let error as RPCError where error.code == .deadlineExceeded {
                try? await Task.sleep(for: configuration.attachedHealthInterval)   // slow, not gone
                continue
            } catch {
                problem = "\(error)"
            }
            guard !Task.isCancelled && !self.stopping else { return }
            failures = problem == nil ? 0 : failures + 1
            if let problem, !serving || failures >= Self.failuresBeforeDown {
                if serving {
                    serving = false
                    self.availability = .down(reason: "the enclave at \(endpoint) is not answering")
                    self.logger.error("the attached enclave stopped answering; relaying again once it is ready",
                                      metadata: ["enclave": "\(endpoint)", "problem": "\(problem)"])
                }
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, configuration.attachedReconnectMaxDelay)
            } else if problem != nil {
                try? await Task.sleep(for: configuration.healthPollInterval)
            } else {
                if !serving {
                    serving = true
                    self.availability = .ready(endpoint: endpoint)
                    self.logger.notice("the attached enclave is ready again", metadata: ["enclave": "\(endpoint)"])
                }
                delay = configuration.healthPollInterval
                try? await Task.sleep(for: configuration.attachedHealthInterval)
            }
        }
    }
}
