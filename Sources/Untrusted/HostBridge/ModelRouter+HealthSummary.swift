import EnclavaWire

extension ModelRouter {
    /// The `Health` a bridge with several enclaves answers itself to an unnamed call: `STATE_READY` only when
    /// every enclave is, `model_name` the served names joined with commas, and one line per enclave in `message`.
    /// Only what the bridge itself knows (no enclave is asked, nothing secret).
    ///
    /// - Parameter availability: each enclave's availability, in route order.
    func healthSummary(_ availability: [EnclaveAvailability]) -> Enclava_V1_HealthResponse {
        var lines: [String] = []
        var allReady = true
        for (route, name) in self.names.enumerated() {
            let label = name ?? "(unnamed)"
            switch availability.indices.contains(route) ? availability[route] : .starting {
            case .ready, .readyInProcess: lines.append("\(label): serving")
            case .starting: lines.append("\(label): starting"); allReady = false
            case .down(let reason): lines.append("\(label): \(reason)"); allReady = false
            }
        }
        var health = Enclava_V1_HealthResponse()
        health.state = allReady ? .ready : .starting
        health.modelName = self.names.map { $0 ?? "(unnamed)" }.joined(separator: ",")
        health.message = "serving \(self.names.count) models (name one for its own Health): " + lines.joined(separator: "; ")
        return health
    }
}
