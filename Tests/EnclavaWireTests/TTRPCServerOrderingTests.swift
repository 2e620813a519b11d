import EnclavaWire
import Foundation
import Testing

/// Records the order calls were admitted in, and how many admitted calls have started running.
private final class AdmissionLog: @unchecked Sendable {
    private let lock = NSLock()
    private var admittedOrder: [UInt64] = []
    private var runningCount = 0
    func admitted(_ sequence: UInt64) { self.lock.withLock { self.admittedOrder.append(sequence) } }
    func started() { self.lock.withLock { self.runningCount += 1 } }
    var order: [UInt64] { self.lock.withLock { self.admittedOrder } }
    var running: Int { self.lock.withLock { self.runningCount } }
}

/// Admission takes longer for earlier requests, so that admissions running side by side would finish out of
/// order; the first call only answers once every call has started running (they must overlap).
private struct SlowAdmissionService: TTRPCServiceHandler {
    let log: AdmissionLog
    let count: Int

    func handle(method: String, service: String, payload: [UInt8]) async -> Result<[UInt8], RPCError> {
        .failure(RPCError(.internal, reason: "NOT_ADMITTED", message: "handle was called without admit"))
    }

    func admit(method: String, service: String, payload: [UInt8]) async -> TTRPCAdmittedCall {
        let sequence = (try? Enclava_V1_InferRequest(serializedBytes: payload))?.sequence ?? .max
        try? await Task.sleep(for: .milliseconds(2 * (self.count - Int(min(sequence, UInt64(self.count))))))
        self.log.admitted(sequence)
        return { [log, count] in
            log.started()
            if sequence == 0 {
                for _ in 0..<10_000 where log.running < count { try? await Task.sleep(for: .milliseconds(1)) }
                guard log.running == count else {
                    return .failure(RPCError(.internal, reason: "NOT_CONCURRENT", message: "later calls did not start"))
                }
            }
            var response = Enclava_V1_InferResponse()
            response.sequence = sequence
            return .success((try? response.serializedBytes()) ?? [])
        }
    }
}

@Suite(.timeLimit(.minutes(2))) struct TTRPCServerOrderingTests {
    /// Pipelined requests on one connection are admitted in arrival order, and their work still overlaps.
    @Test func pipelinedCallsAreAdmittedInArrivalOrderAndRunConcurrently() async throws {
        let count = 16
        let log = AdmissionLog()
        let path = temporarySocketPath("order")
        let server = try await TTRPCServer.bind(unixPath: path, handler: SlowAdmissionService(log: log, count: count))
        var wire: [UInt8] = []
        for sequence in 0..<count {
            var request = Enclava_V1_InferRequest()
            request.sequence = UInt64(sequence)
            wire += try requestBytes(streamID: UInt32(2 * sequence + 1), method: EnclaveService.Method.infer.rawValue,
                                     payload: request.serializedBytes())
        }
        let (frames, _) = try await rawExchange(.unix(path), send: wire, expectFrames: count)
        #expect(frames.count == count)
        for frame in frames {
            #expect(try status(of: frame) == nil, "stream \(frame.streamID)")
        }
        #expect(log.order == Array(0..<UInt64(count)))
        await server.close()
    }
}
