import CEnclaveEdge
import EnclavaWire
import EnclaveRuntime
import Foundation

/// The `ocall` row of `enclava-bench relay` (issue 11): the same stand-in enclave (``EchoEnclave``) reached across the
/// in-process edge instead of a socket — each round trip one `enclava_edge_call` from a host thread (the request frame
/// copied into enclave memory, the runtime's ``EnclaveFrameProcessor`` run on its task, the response copied out),
/// one edge per connection, as `libEnclavaEnclave.so` serves `enclava serve --enclave ocall:`. The goal: at
/// least 5× the socket path's round trips.
extension RelayBenchmark {
    /// Health round trips per second on 1 and 32 connections, and GB/s of 1 MiB Infer frames echoed (4 connections).
    static func ocallRates(seconds: Double, streamMiB: Int) throws -> (Double, Double, Double) {
        let processor = EnclaveFrameProcessor(handler: EchoEnclave(), maxFrameBytes: 2 << 20)
        var health = Ttrpc_Request()
        health.service = EnclaveService.name
        health.method = EnclaveService.Method.health.rawValue
        var infer = health
        infer.method = EnclaveService.Method.infer.rawValue
        var inferPayload = Enclava_V1_InferRequest()
        inferPayload.ciphertext = Data(repeating: 0x5C, count: 1 << 20)
        infer.payload = try inferPayload.serializedBytes()
        let healthFrame = Array(try Frame.request(streamID: 1, health).encoded().readableBytesView)
        let inferFrame = Array(try Frame.request(streamID: 1, infer).encoded().readableBytesView)
        let one = try rate(processor, frame: healthFrame, connections: 1, seconds: seconds).perSecond
        let many = try rate(processor, frame: healthFrame, connections: 32, seconds: seconds).perSecond
        let stream = try rate(processor, frame: inferFrame, connections: 4, seconds: seconds, limit: streamMiB)
        return (one, many, Double(2 * stream.calls << 20) / stream.elapsed / 1e9)
    }

    /// `connections` host threads, each with its own edge, calling `frame` in a loop for `seconds` (or `limit` calls in all).
    private static func rate(_ processor: EnclaveFrameProcessor, frame: [UInt8], connections: Int, seconds: Double,
                             limit: Int = .max) throws -> (perSecond: Double, calls: Int, elapsed: Double) {
        let edges = try (0..<connections).map { _ in try BenchEdge(processor: processor) }
        let deadline = Date().addingTimeInterval(seconds)
        let tally = Tally(connections)
        let group = DispatchGroup()
        let start = Date()
        for (index, edge) in edges.enumerated() {
            group.enter()
            let thread = Thread {
                var out = [UInt8](repeating: 0, count: frame.count + 4096)
                var count = 0
                while Date() < deadline && count * connections < limit {
                    var length = 0
                    let status = out.withUnsafeMutableBufferPointer { buffer in
                        enclava_edge_call(edge.edge, frame, frame.count, buffer.baseAddress, buffer.count, &length)
                    }
                    guard status == ENCLAVA_EDGE_OK, length > 10 else { tally.set(failure: status.rawValue == 0 ? 99 : status.rawValue, at: index); break }
                    count += 1
                }
                tally.set(count: count, at: index)
                group.leave()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        group.wait()
        let elapsed = Date().timeIntervalSince(start)
        if let failed = tally.failure { throw BenchError("an ecall failed with edge status \(failed)") }
        let total = tally.total
        return (Double(total) / elapsed, total, elapsed)
    }
}

/// One benchmark connection's edge: the processor runs on a task while the ecall's host thread waits, as in the library.
private final class BenchEdge: @unchecked Sendable {
    let processor: EnclaveFrameProcessor
    let identity = TTRPCConnectionID.next()
    private(set) var edge: OpaquePointer?

    init(processor: EnclaveFrameProcessor) throws {
        self.processor = processor
        var opened: OpaquePointer?
        guard enclava_edge_open(processor.maxFrameBytes, benchProcessor, Unmanaged.passUnretained(self).toOpaque(), nil,
                                &opened) == ENCLAVA_EDGE_OK else { throw BenchError("cannot open an edge") }
        edge = opened
    }

    deinit { if let edge { enclava_edge_close(edge) } }
}

/// What each benchmark thread counted (written once per thread, read after all have finished).
private final class Tally: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [Int]
    private var failures: [UInt32]
    init(_ connections: Int) {
        counts = Array(repeating: 0, count: connections)
        failures = Array(repeating: 0, count: connections)
    }
    func set(count: Int, at index: Int) { lock.withLock { counts[index] = count } }
    func set(failure: UInt32, at index: Int) { lock.withLock { failures[index] = failure } }
    var total: Int { lock.withLock { counts.reduce(0, +) } }
    var failure: UInt32? { lock.withLock { failures.first { $0 != 0 } } }
}

private final class AnswerBox: @unchecked Sendable { var bytes: [UInt8] = [] }

private let benchProcessor: enclava_edge_processor = { trusted, frame, length, response, responseLength in
    let edge = Unmanaged<BenchEdge>.fromOpaque(trusted!).takeUnretainedValue()
    let bytes = Array(UnsafeBufferPointer(start: frame, count: length))
    let box = AnswerBox()
    let done = DispatchSemaphore(value: 0)
    let processor = edge.processor
    let identity = edge.identity
    Task.detached {
        box.bytes = await processor.process(bytes, connection: identity)
        done.signal()
    }
    done.wait()
    let copy = malloc(max(box.bytes.count, 1))!.assumingMemoryBound(to: UInt8.self)
    box.bytes.withUnsafeBufferPointer { if !$0.isEmpty { copy.update(from: $0.baseAddress!, count: $0.count) } }
    response!.pointee = copy
    responseLength!.pointee = box.bytes.count
    return 0
}
