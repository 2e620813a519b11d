import EnclavaTesting
import Foundation
import Testing
@testable import EnclaveInference
import EnclaveSealing

/// Loading keeps one copy of the weights: protobuf-c never sees the initializers' raw data (it is copied
/// straight from the file), and a file in sealed memory becomes the weight store when the weights can be
/// moved into place inside it — with the same weights and the same outputs as the copying path.
@Suite("Model decoding memory")
struct DecoderMemoryTests {
    static let modelNames = ["tiny-bert", "all-MiniLM-L6-v2"]

    func file(_ name: String) throws -> [UInt8] {
        try TestPaths.bytes(TestPaths.models.appendingPathComponent(name).appendingPathComponent("model.onnx"))
    }

    func region(_ bytes: [UInt8]) throws -> SealedRegion {
        let region = try SealedRegion(count: bytes.count, lockPolicy: .allowUnlocked)
        region.withUnsafeMutableBytes { target in bytes.withUnsafeBytes { target.copyMemory(from: $0) } }
        return region
    }

    @Test(arguments: modelNames)
    func decodeArenaHoldsNoInitializerBytes(_ name: String) throws {
        let bytes = try file(name)
        var statistics = OnnxModelDecoder.Statistics()
        let (graph, weights) = try bytes.withUnsafeBytes {
            try OnnxModelDecoder.decode($0, inPlace: nil, limits: ModelLimits(), lockPolicy: .allowUnlocked,
                                        statistics: &statistics)
        }
        #expect(statistics.initializersFromFile > 0)
        #expect(statistics.initializersFromFile <= graph.initializers.count)
        // What protobuf-c saw and allocated is small next to the weights (it used to hold a copy of them all).
        #expect(statistics.strippedBytes * 10 < weights.byteCount, "stripped \(statistics.strippedBytes) bytes")
        #expect(statistics.arenaBytes * 2 < weights.byteCount, "arena \(statistics.arenaBytes) bytes")
        #expect(!statistics.weightsInPlace)
    }

    @Test(arguments: modelNames)
    func weightsMovedInPlaceMatchTheCopiedWeights(_ name: String) throws {
        let bytes = try file(name)
        var copied = OnnxModelDecoder.Statistics()
        let (graph, weights) = try bytes.withUnsafeBytes {
            try OnnxModelDecoder.decode($0, inPlace: nil, limits: ModelLimits(), lockPolicy: .allowUnlocked, statistics: &copied)
        }
        var moved = OnnxModelDecoder.Statistics()
        let block = SealedBlock(adopting: try region(bytes))
        let (movedGraph, movedWeights) = try OnnxModelDecoder.decode(file: block, limits: ModelLimits(),
                                                                     lockPolicy: .allowUnlocked, statistics: &moved)
        #expect(moved.weightsInPlace)
        #expect(movedWeights.isBacked(by: block))
        #expect(movedWeights.byteCount == weights.byteCount)
        #expect(movedGraph.initializers.count == graph.initializers.count)
        for ((name, weight), (movedName, movedWeight)) in zip(graph.initializers, movedGraph.initializers) {
            #expect(name == movedName)
            #expect(weight == movedWeight)
            #expect(Array(weights.bytes(weight)) == Array(movedWeights.bytes(movedWeight)), "initializer \(name)")
        }
        // Past the weights, the rest of the file is zeroed.
        let tail = UnsafeRawBufferPointer(start: block.base + movedWeights.byteCount, count: block.count - movedWeights.byteCount)
        #expect(tail.allSatisfy { $0 == 0 })
    }

    @Test func modelLoadedFromARegionRunsLikeTheCopiedOne() throws {
        let bytes = try file("all-MiniLM-L6-v2")
        let copied = try InferenceModel(onnx: bytes, memoryLockPolicy: .allowUnlocked)
        let moved = try InferenceModel(onnx: try region(bytes), memoryLockPolicy: .allowUnlocked)
        #expect(moved.weightByteCount == copied.weightByteCount)
        let ids = (0..<32).map { Int64(($0 * 7919) % 30000 + 100) }
        let inputs: [String: HostTensor] = [
            "input_ids": HostTensor(int64: ids, shape: [1, 32]),
            "attention_mask": HostTensor(int64: [Int64](repeating: 1, count: 32), shape: [1, 32]),
            "token_type_ids": HostTensor(int64: [Int64](repeating: 0, count: 32), shape: [1, 32]),
        ]
        let expected = try #require(try copied.run(inputs)["last_hidden_state"])
        #expect(try moved.run(inputs)["last_hidden_state"] == expected)
    }

    /// Generated files of many tiny initializers, where the 64-byte alignment of the weight layout soon
    /// overtakes the raw data still to be moved: those are copied instead, with the same values and outputs.
    @Test(arguments: [1, 2, 40])
    func filesThatCannotBeMovedInPlaceAreCopied(_ count: Int) throws {
        var nodes: [Onnx.Node] = []
        var initializers: [Onnx.Initializer] = []
        for index in 1...count {
            let value = Float(index) * 0.5
            initializers.append(.init(name: "w\(index)", dims: [1],
                                      rawData: withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) }))
            nodes.append(.init(op: "Add", inputs: [index == 1 ? "x" : "t\(index - 1)", "w\(index)"],
                               outputs: [index == count ? "y" : "t\(index)"]))
        }
        let bytes = Onnx.model(nodes: nodes, initializers: initializers, inputs: [("x", 1, [.value(1)])],
                               outputs: [("y", [.value(1)])])
        var statistics = OnnxModelDecoder.Statistics()
        let block = SealedBlock(adopting: try region(bytes))
        let (_, weights) = try OnnxModelDecoder.decode(file: block, limits: ModelLimits(), lockPolicy: .allowUnlocked,
                                                       statistics: &statistics)
        #expect(statistics.initializersFromFile == count)
        #expect(statistics.weightsInPlace == (count < 40), "count \(count)")
        #expect(weights.byteCount == (count - 1) * WeightStore.alignment + 4)

        let expected = (1...count).reduce(Float(1)) { $0 + Float($1) * 0.5 }
        let input = HostTensor(float32: [1], shape: [1])
        let copied = try InferenceModel(onnx: bytes, memoryLockPolicy: .allowUnlocked)
        let moved = try InferenceModel(onnx: try region(bytes), memoryLockPolicy: .allowUnlocked)
        #expect(try moved.run(["x": input])["y"]?.float32Values == [expected])
        #expect(try copied.run(["x": input])["y"]?.float32Values == [expected])
    }
}
