import CEnclaveEdge
import EnclavaWire
import EnclaveRuntime
import Foundation
import Logging
import Synchronization

/// The `ocall` transport of the end-to-end tests (issue 11): the client reaches a Unix socket whose every call is
/// turned back into its ttrpc frame and passed across the real C edge (`enclava_edge_call`: copy into enclave memory,
/// size and overlap checks, BUSY on re-entry) into an ``EnclaveFrameProcessor`` over the runtime's client handler,
/// one edge and one ttrpc identity per client connection — the path `libEnclavaEnclave.so` serves, in this process
/// so that the tests keep their runtime. The edge's processor blocks its ecall thread as the library's does.
final class OcallEdgeRelay: TTRPCServiceHandler, @unchecked Sendable {
    /// One client connection's edge and what its processor needs.
    final class Edge: @unchecked Sendable {
        let processor: EnclaveFrameProcessor
        let identity: TTRPCConnectionID
        let queue = DispatchQueue(label: "enclava.test.ecall")
        var edge: OpaquePointer?
        var buffer = [UInt8](repeating: 0, count: 1 << 16)

        init(processor: EnclaveFrameProcessor, identity: TTRPCConnectionID) {
            self.processor = processor
            self.identity = identity
        }
    }

    let processor: EnclaveFrameProcessor
    private let edges = Mutex<[TTRPCConnectionID: Edge]>([:])

    init(processor: EnclaveFrameProcessor) {
        self.processor = processor
    }

    /// Serves `core`'s client channel over the edge on a Unix socket at `path` (kept for the test process's life).
    static func serve(core: EnclaveCore, maxFrameBytes: Int, path: String) async throws -> TTRPCEndpoint {
        let relay = OcallEdgeRelay(processor: EnclaveFrameProcessor(handler: EnclaveRequestHandler(core: core, channel: .client),
                                                                    maxFrameBytes: maxFrameBytes))
        var logger = Logger(label: "enclava.test.ocall")
        logger.logLevel = .warning
        let server = try await TTRPCServer.bind(unixPath: path, handler: relay, maxFrameBytes: maxFrameBytes, logger: logger)
        servers.withLock { $0.append(server) }
        return .unix(path)
    }

    private static let servers = Mutex<[TTRPCServer]>([])

    func handle(method: String, service: String, payload: [UInt8]) async -> Result<[UInt8], RPCError> {
        .failure(RPCError(.internal, reason: "NO_CONNECTION", message: "the ocall relay serves calls with their connection only"))
    }

    /// The whole ecall happens in `admit`, so that a connection's frames cross the edge one at a time in arrival order.
    func admit(method: String, service: String, payload: [UInt8], connection: TTRPCConnectionID) async -> TTRPCAdmittedCall {
        let edge = self.edge(for: connection)
        var request = Ttrpc_Request()
        request.service = service
        request.method = method
        request.payload = Data(payload)
        guard let frame = try? Array(Frame.request(streamID: 1, request).encoded().readableBytesView) else {
            return { .failure(RPCError(.internal, reason: "ENCODE", message: "cannot encode the request frame")) }
        }
        let answer: Result<[UInt8], RPCError> = await withCheckedContinuation { continuation in
            edge.queue.async { continuation.resume(returning: Self.ecall(edge, frame)) }
        }
        return { answer }
    }

    func connectionClosed(_ connection: TTRPCConnectionID) async {
        guard let edge = self.edges.withLock({ $0.removeValue(forKey: connection) }) else { return }
        // After any ecall still on the queue, without blocking this (cooperative) thread: an ecall waits for the
        // enclave's task, which needs a cooperative thread to run (a `queue.sync` here starved the pool on 2 cores).
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            edge.queue.async {
                if let opened = edge.edge { _ = enclava_edge_close(opened) }
                done.resume()
            }
        }
        await edge.processor.connectionClosed(edge.identity)
    }

    private func edge(for connection: TTRPCConnectionID) -> Edge {
        self.edges.withLock { edges in
            if let known = edges[connection] { return known }
            let edge = Edge(processor: self.processor, identity: connection)
            var opened: OpaquePointer?
            _ = enclava_edge_open(self.processor.maxFrameBytes, relayProcessor, Unmanaged.passUnretained(edge).toOpaque(), nil, &opened)
            edge.edge = opened
            edges[connection] = edge
            return edge
        }
    }

    /// One ecall on the edge's queue; the response frame back to a call result.
    private static func ecall(_ edge: Edge, _ frame: [UInt8]) -> Result<[UInt8], RPCError> {
        var length = 0
        var status = edge.buffer.withUnsafeMutableBufferPointer { out in
            enclava_edge_call(edge.edge, frame, frame.count, out.baseAddress, out.count, &length)
        }
        if status == ENCLAVA_EDGE_SHORT_BUFFER {
            edge.buffer = [UInt8](repeating: 0, count: length)
            status = edge.buffer.withUnsafeMutableBufferPointer { out in enclava_edge_collect(edge.edge, out.baseAddress, out.count, &length) }
        }
        guard status == ENCLAVA_EDGE_OK, length >= WireLimits.headerByteCount,
              let response = try? Ttrpc_Response(serializedBytes: Array(edge.buffer[WireLimits.headerByteCount..<length])) else {
            return .failure(RPCError(.internal, reason: "EDGE_FAILED", message: "the edge answered status \(status.rawValue)"))
        }
        if response.hasStatus, response.status.code != 0 { return .failure(RPCError(status: response.status)) }
        return .success([UInt8](response.payload))
    }
}

/// The edge's processor: blocks the ecall thread while the enclave's task answers the frame (as the library does).
private let relayProcessor: enclava_edge_processor = { trusted, frame, length, response, responseLength in
    guard let trusted, let frame, let response, let responseLength else { return 1 }
    let edge = Unmanaged<OcallEdgeRelay.Edge>.fromOpaque(trusted).takeUnretainedValue()
    let bytes = Array(UnsafeBufferPointer(start: frame, count: length))
    let answer = Mutex<[UInt8]>([])
    let done = DispatchSemaphore(value: 0)
    let processor = edge.processor
    let identity = edge.identity
    Task.detached {
        let result = await processor.process(bytes, connection: identity)
        answer.withLock { $0 = result }
        done.signal()
    }
    done.wait()
    let result = answer.withLock { $0 }
    let copy = malloc(max(result.count, 1))!.assumingMemoryBound(to: UInt8.self)
    result.withUnsafeBufferPointer { copy.update(from: $0.baseAddress!, count: result.count) }
    response.pointee = copy
    responseLength.pointee = result.count
    return 0
}
