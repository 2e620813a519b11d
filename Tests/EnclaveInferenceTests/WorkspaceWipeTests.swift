import Testing
import EnclavaTesting
@testable import EnclaveInference

/// A request's working memory (its decrypted inputs and every activation) is zero once the run is over,
/// before the workspace can serve another request.
@Suite struct WorkspaceWipeTests {
    @Test func workspacesAreZeroAfterARun() throws {
        let model = try InferenceModel(onnx: Onnx.model(nodes: [.init(op: "Relu", inputs: ["x"], outputs: ["t"]),
                                                                .init(op: "Relu", inputs: ["t"], outputs: ["y"])],
                                                        inputs: [("x", 1, [.value(1), .value(4096)])],
                                                        outputs: [("y", [.value(1), .value(4096)])]),
                                       memoryLockPolicy: .required)
        let input = HostTensor(float32: (0..<4096).map { Float($0 % 97) + 0.5 }, shape: [1, 4096])
        _ = try model.run(["x": input])
        #expect(model.workspaces.idleCount >= 1)
        #expect(model.workspaces.idleBlocksReadZero)
    }

    /// The check can fail: a block released without its bytes counted as used keeps them.
    @Test func theCheckSeesBytesLeftBehind() throws {
        let pool = WorkspacePool()
        let block = try pool.acquire(bytes: 4096, lockPolicy: .required)
        block.base.storeBytes(of: 0xA5, as: UInt8.self)
        pool.release(block, used: 0)
        #expect(!pool.idleBlocksReadZero)
    }
}
