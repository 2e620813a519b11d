import EnclavaWire
import Foundation
import Testing

/// What a connection-aware service hears, and when.
private actor ConnectionLog {
    var admittedOn: [TTRPCConnectionID] = []
    var closed: [TTRPCConnectionID] = []
    var blockedCalls = 0
    private var gate: [CheckedContinuation<Void, Never>] = []
    private var open = false

    func admitted(_ connection: TTRPCConnectionID) { self.admittedOn.append(connection) }
    func connectionClosed(_ connection: TTRPCConnectionID) { self.closed.append(connection) }

    func block() async {
        guard !self.open else { return }
        self.blockedCalls += 1
        await withCheckedContinuation { self.gate.append($0) }
    }

    func release() {
        self.open = true
        for waiter in self.gate { waiter.resume() }
        self.gate = []
    }
}

/// Infer with sequence 1 blocks until the log is released; every call records its connection.
private struct ConnectionAwareService: TTRPCServiceHandler {
    let log: ConnectionLog

    func handle(method: String, service: String, payload: [UInt8]) async -> Result<[UInt8], RPCError> {
        .failure(RPCError(.internal, reason: "NO_CONNECTION", message: "handle was called without a connection"))
    }

    func admit(method: String, service: String, payload: [UInt8], connection: TTRPCConnectionID) async -> TTRPCAdmittedCall {
        await self.log.admitted(connection)
        let sequence = (try? Enclava_V1_InferRequest(serializedBytes: payload))?.sequence ?? 0
        return { [log] in
            if sequence == 1 { await log.block() }
            var response = Enclava_V1_InferResponse()
            response.sequence = sequence
            return .success((try? response.serializedBytes()) ?? [])
        }
    }

    func connectionClosed(_ connection: TTRPCConnectionID) async {
        await self.log.connectionClosed(connection)
    }
}

/// The server names each connection to the service, tells it when one has closed, and bounds the request
/// bytes one connection may have in flight.
@Suite(.timeLimit(.minutes(2))) struct TTRPCServerConnectionTests {
    func infer(_ sequence: UInt64, bytes: Int = 1) -> Enclava_V1_InferRequest {
        var request = Enclava_V1_InferRequest()
        request.sequence = sequence
        request.ciphertext = Data(repeating: 7, count: bytes)
        return request
    }

    @Test func eachConnectionHasItsOwnIdAndIsClosedOnceAfterItsCalls() async throws {
        let log = ConnectionLog()
        let path = temporarySocketPath("conn")
        let server = try await TTRPCServer.bind(unixPath: path, handler: ConnectionAwareService(log: log))
        let first = try await TTRPCClient.connect(to: .unix(path))
        let second = try await TTRPCClient.connect(to: .unix(path))
        _ = try await first.call(.infer, infer(0), as: Enclava_V1_InferResponse.self)
        _ = try await first.call(.infer, infer(2), as: Enclava_V1_InferResponse.self)
        _ = try await second.call(.infer, infer(0), as: Enclava_V1_InferResponse.self)
        let ids = await log.admittedOn
        #expect(ids.count == 3 && ids[0] == ids[1] && ids[0] != ids[2] && !ids.contains(.inProcess))
        // A call still running when its connection closes: the service hears of the close only after it.
        let pending = Task { try await first.call(.infer, infer(1), as: Enclava_V1_InferResponse.self) }
        while await log.blockedCalls == 0 { try await Task.sleep(for: .milliseconds(5)) }
        await first.close()
        _ = try? await pending.value
        try await Task.sleep(for: .milliseconds(50))
        #expect(await log.closed.isEmpty)
        await log.release()
        while await log.closed.isEmpty { try await Task.sleep(for: .milliseconds(5)) }
        #expect(await log.closed == [ids[0]])
        await second.close()
        while await log.closed.count < 2 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(await log.closed == [ids[0], ids[2]])
        await server.close()
    }

    @Test func requestBytesPastTheConnectionsBudgetAreRefusedOnTheirStream() async throws {
        let log = ConnectionLog()
        let path = temporarySocketPath("budget")
        let server = try await TTRPCServer.bind(unixPath: path, handler: ConnectionAwareService(log: log),
                                                maxFrameBytes: 4096, maxInFlightBytes: 4096)
        let client = try await TTRPCClient.connect(to: .unix(path))
        let held = Task { try await client.call(.infer, infer(1, bytes: 3000), as: Enclava_V1_InferResponse.self) }
        while await log.blockedCalls == 0 { try await Task.sleep(for: .milliseconds(5)) }
        let refused = await #expect(throws: RPCError.self) {
            _ = try await client.call(.infer, infer(2, bytes: 3000), as: Enclava_V1_InferResponse.self)
        }
        #expect(refused?.code == .resourceExhausted && refused?.reason == "INFLIGHT_BYTES_EXCEEDED")
        // What fits the rest of the budget is served; another connection has a budget of its own.
        #expect(try await client.call(.infer, infer(3, bytes: 500), as: Enclava_V1_InferResponse.self).sequence == 3)
        let other = try await TTRPCClient.connect(to: .unix(path))
        #expect(try await other.call(.infer, infer(4, bytes: 3000), as: Enclava_V1_InferResponse.self).sequence == 4)
        await log.release()
        #expect(try await held.value.sequence == 1)
        #expect(try await client.call(.infer, infer(5, bytes: 3000), as: Enclava_V1_InferResponse.self).sequence == 5)
        await client.close()
        await other.close()
        await server.close()
    }
}
