@testable import HostBridge
import Testing

/// The `Health` summary a multi-model bridge answers to an unnamed call.
@Suite struct ModelRouterHealthTests {
    @Test func theSummaryIsReadyOnlyWhenEveryEnclaveIs() {
        let router = ModelRouter(names: ["fraud-detector", "minilm-embeddings"])
        let ready = router.healthSummary([.ready(endpoint: .unix("/a")), .ready(endpoint: .unix("/b"))])
        #expect(ready.state == .ready)
        #expect(ready.modelName == "fraud-detector,minilm-embeddings")

        let oneDown = router.healthSummary([.ready(endpoint: .unix("/a")), .down(reason: "the enclave exited with status 1 and is restarting")])
        #expect(oneDown.state == .starting)
        #expect(oneDown.message.contains("fraud-detector: serving"))
        #expect(oneDown.message.contains("minilm-embeddings: the enclave exited with status 1 and is restarting"))
    }
}
