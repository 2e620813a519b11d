import Foundation
import Testing
import EnclaveInference

/// ONNX's own node conformance cases (../shared/testdata/onnx-node, see its PROVENANCE.md) for the
/// operators this issue implements.
@Suite("ONNX node conformance")
struct ConformanceTests {
    /// Every case whose ops and element types are all supported; each must pass.
    static let supportedCases = [
        "test_add", "test_add_bcast", "test_constant", "test_div", "test_div_bcast", "test_div_example",
        "test_flatten_axis0", "test_flatten_axis1", "test_flatten_axis2", "test_flatten_axis3", "test_flatten_default_axis",
        "test_flatten_negative_axis1", "test_flatten_negative_axis2", "test_flatten_negative_axis3", "test_flatten_negative_axis4",
        "test_gemm_all_attributes", "test_gemm_alpha", "test_gemm_beta", "test_gemm_default_matrix_bias",
        "test_gemm_default_no_bias", "test_gemm_default_scalar_bias", "test_gemm_default_single_elem_vector_bias",
        "test_gemm_default_vector_bias", "test_gemm_default_zero_bias", "test_gemm_transposeA", "test_gemm_transposeB",
        "test_identity", "test_matmul_1d_1d", "test_matmul_1d_3d", "test_matmul_2d", "test_matmul_3d", "test_matmul_4d",
        "test_matmul_4d_1d", "test_matmul_bcast", "test_mul", "test_mul_bcast", "test_mul_example", "test_relu",
        "test_sigmoid", "test_sigmoid_example", "test_softmax_axis_0", "test_softmax_axis_1", "test_softmax_axis_2",
        "test_softmax_default_axis", "test_softmax_example", "test_softmax_large_number", "test_softmax_negative_axis",
        "test_sub", "test_sub_bcast", "test_sub_example",
    ]

    /// The other cases of the same operators: other element types, or "expanded" graphs with more ops.
    static var unsupportedCases: [String] {
        let prefixes = ["test_gemm", "test_matmul", "test_add", "test_relu", "test_sigmoid", "test_softmax", "test_flatten",
                        "test_identity", "test_mul", "test_sub", "test_div", "test_constant"]
        let all = (try? FileManager.default.contentsOfDirectory(atPath: TestPaths.onnxNode.path)) ?? []
        return all.filter { name in
            prefixes.contains { name.hasPrefix($0) } && !name.hasPrefix("test_constantofshape") && !supportedCases.contains(name)
        }.sorted()
    }

    @Test(arguments: supportedCases)
    func supportedCasePasses(_ name: String) throws {
        let directory = TestPaths.onnxNode.appendingPathComponent(name)
        let model = try loadModel(try TestPaths.bytes(directory.appendingPathComponent("model.onnx")))
        let sets = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix("test_data_set_") }.sorted()
        try #require(!sets.isEmpty)
        var worst: Float = 0
        for set in sets {
            let folder = directory.appendingPathComponent(set)
            var inputs: [String: HostTensor] = [:]
            for (index, spec) in model.inputs.enumerated() {
                inputs[spec.name] = try HostTensor(onnxTensorProto: TestPaths.bytes(folder.appendingPathComponent("input_\(index).pb")))
            }
            let results = try model.run(inputs)
            for (index, spec) in model.outputs.enumerated() {
                let expected = try HostTensor(onnxTensorProto: TestPaths.bytes(folder.appendingPathComponent("output_\(index).pb")))
                let got = try #require(results[spec.name])
                #expect(got.dtype == expected.dtype, "\(name) \(set) \(spec.name)")
                #expect(got.shape == expected.shape, "\(name) \(set) \(spec.name): shape \(got.shape) vs \(expected.shape)")
                let (g, e) = (got.float32Values ?? [], expected.float32Values ?? [])
                try #require(g.count == e.count)
                for (x, y) in zip(g, e) {
                    let error = abs(x - y)
                    worst = max(worst, error)
                    // onnx's runner: rtol 1e-3, atol 1e-7
                    #expect(error <= 1e-7 + 1e-3 * abs(y), "\(name) \(set) \(spec.name): \(x) vs \(y)")
                }
            }
        }
        print("conformance \(name): passed (\(sets.count) data set(s), max abs error \(worst))")
    }

    @Test func otherCasesAreRefusedAsUnsupportedNotCrashed() throws {
        let cases = Self.unsupportedCases
        #expect(cases.count >= 30, "expected the int and expanded variants to be present, found \(cases.count)")
        for name in cases {
            let bytes = try TestPaths.bytes(TestPaths.onnxNode.appendingPathComponent(name).appendingPathComponent("model.onnx"))
            let error = inferenceError { try loadModel(bytes) }
            let refused = error.map { [.unsupportedOperator, .unsupportedDataType].contains($0.code) } ?? false
            #expect(refused, "\(name): expected an unsupported-operator or -type refusal, got \(String(describing: error))")
            print("conformance \(name): unsupported (\(error?.description ?? "loaded"))")
            if name.contains("softmax"), name.contains("expanded") {
                #expect(error?.operators == ["Exp", "ReduceMax", "ReduceSum"], "\(name): \(error?.operators ?? [])")
            }
        }
    }
}
