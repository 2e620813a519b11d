/// The proxy's server task and the port it bound, with waiters for both.
actor RunningState {
    private var task: Task<Void, any Error>?
    private(set) var port: Int?
    private var finished = false
    private var portWaiters: [CheckedContinuation<Int?, Never>] = []
    private var stopWaiters: [CheckedContinuation<Void, Never>] = []

    func started(_ task: Task<Void, any Error>) {
        self.task = task
        Task { _ = try? await task.value; self.ended() }
    }

    func listening(_ port: Int) {
        self.port = port
        portWaiters.forEach { $0.resume(returning: port) }
        portWaiters = []
    }

    private func ended() {
        finished = true
        portWaiters.forEach { $0.resume(returning: nil) }
        portWaiters = []
        stopWaiters.forEach { $0.resume() }
        stopWaiters = []
    }

    /// The bound port, or nil when the server ended before it listened.
    func waitForPort() async -> Int? {
        if let port { return port }
        if finished { return nil }
        return await withCheckedContinuation { portWaiters.append($0) }
    }

    func stop() async {
        task?.cancel()
        await waitUntilStopped()
    }

    func waitUntilStopped() async {
        guard task != nil, !finished else { return }
        await withCheckedContinuation { stopWaiters.append($0) }
    }
}
