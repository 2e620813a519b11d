import Foundation
import EnclaveInference

/// Paths of the repository and of the shared test data (`../shared` next to the package root).
enum TestPaths {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()   // EnclaveInferenceTests
        .deletingLastPathComponent()   // Tests
        .deletingLastPathComponent()   // package root
    static let shared = packageRoot.deletingLastPathComponent().appendingPathComponent("shared")
    static let fraudDetector = packageRoot.appendingPathComponent("Manifests/fraud-detector")
    static let onnxNode = shared.appendingPathComponent("testdata/onnx-node")
    static let models = shared.appendingPathComponent("models")

    static func bytes(_ url: URL) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: url))
    }
}

/// A tensor as golden.json and sample-input.json write it.
struct JSONTensor: Decodable {
    let dtype: String
    let shape: [Int]
    let data: [Double]

    var hostTensor: HostTensor {
        HostTensor(float32: data.map { Float($0) }, shape: shape)
    }
}

struct GoldenFile: Decodable {
    let inputs: [String: JSONTensor]
    let outputs: [String: JSONTensor]
}

func maxAbsError(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "length \(a.count) vs \(b.count)")
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

/// Loads a model for tests; unlocked memory is allowed because tests run in parallel under small
/// RLIMIT_MEMLOCKs (one test loads with `.required` on purpose).
func loadModel(_ bytes: [UInt8], limits: ModelLimits = ModelLimits()) throws -> InferenceModel {
    try InferenceModel(onnx: bytes, limits: limits, memoryLockPolicy: .allowUnlocked)
}

/// Runs `body` and returns the InferenceError it throws (nil when it throws nothing or something else).
func inferenceError<T>(_ body: () throws -> T) -> InferenceError? {
    do {
        _ = try body()
        return nil
    } catch let error as InferenceError {
        return error
    } catch {
        return nil
    }
}
