internal import CEnclaveEdge
import EnclavaWire
import EnclaveRuntime
import Foundation

/// One connection of the in-process enclave: its own edge (so that a busy connection never makes another's
/// ecall BUSY), its own ttrpc connection identity (fresh, never reused, never chosen by the host), and the
/// processor of its channel. The edge copies each request frame into enclave memory and calls ``processFrame``
/// on that copy; the answer goes back through the edge's checks.
final class EdgeConnection: @unchecked Sendable {
    /// The identity sessions and evidence are bound to.
    let identity = TTRPCConnectionID.next()
    let processor: EnclaveFrameProcessor
    /// Set once by ``open(processor:maxFrameBytes:ocalls:)``; closed by ``close()``.
    private(set) var edge: OpaquePointer?
    /// Ecalls running on this connection (guarded by the owning table's lock).
    var users = 0

    private init(processor: EnclaveFrameProcessor) {
        self.processor = processor
    }

    /// A connection with its edge open.
    /// - Returns: the connection, or the edge's status when it cannot be opened.
    static func open(processor: EnclaveFrameProcessor, maxFrameBytes: Int,
                     ocalls: UnsafePointer<enclava_edge_ocalls>?) -> Result<EdgeConnection, EdgeFailure> {
        let connection = EdgeConnection(processor: processor)
        var edge: OpaquePointer?
        let status = enclava_edge_open(maxFrameBytes, edgeProcessor, Unmanaged.passUnretained(connection).toOpaque(),
                                       ocalls, &edge)
        guard status == ENCLAVA_EDGE_OK, let edge else { return .failure(EdgeFailure(status)) }
        connection.edge = edge
        return .success(connection)
    }

    /// Closes the edge (wiping a response still waiting to be collected).
    /// - Returns: the edge's status (BUSY while an ecall runs).
    func close() -> enclava_edge_status {
        guard let edge else { return ENCLAVA_EDGE_OK }
        let status = enclava_edge_close(edge)
        if status == ENCLAVA_EDGE_OK { self.edge = nil }
        return status
    }

    /// Answers one frame (the edge's processor, on the ecall's host thread).
    func processFrame(_ frame: [UInt8]) -> [UInt8] {
        let processor = self.processor
        let identity = self.identity
        return BlockingCall.run { await processor.process(frame, connection: identity) }
    }

    /// Forgets the connection's sessions and evidence (blocking, like an ecall).
    func forget() {
        let processor = self.processor
        let identity = self.identity
        BlockingCall.run { await processor.connectionClosed(identity) }
    }
}

/// A status the edge returned, as a Swift error.
struct EdgeFailure: Error {
    let status: enclava_edge_status
    init(_ status: enclava_edge_status) { self.status = status }
}

/// The edge's processor: the trusted pointer is the ``EdgeConnection``; the frame is the edge's private copy.
private let edgeProcessor: enclava_edge_processor = { trusted, frame, length, response, responseLength in
    guard let trusted, let frame, let response, let responseLength else { return 1 }
    let connection = Unmanaged<EdgeConnection>.fromOpaque(trusted).takeUnretainedValue()
    let answer = connection.processFrame(Array(UnsafeBufferPointer(start: frame, count: length)))
    response.pointee = nil
    responseLength.pointee = 0
    guard !answer.isEmpty else { return 0 }
    guard let bytes = malloc(answer.count)?.assumingMemoryBound(to: UInt8.self) else { return 1 }
    answer.withUnsafeBufferPointer { bytes.update(from: $0.baseAddress!, count: answer.count) }
    response.pointee = bytes
    responseLength.pointee = answer.count
    return 0
}
