import EnclavaWire
import Foundation
import NIOCore
import NIOPosix
import SwiftProtobuf

extension OcallEnclave {
    /// One host-control call (Health, Shutdown) on the enclave's control connection, which no client reaches.
    /// - Throws: ``RPCError`` from the enclave, ``OcallEnclave/CallFailure`` from the edge, or a decoding error.
    func control<Response: SwiftProtobuf.Message>(_ method: EnclaveService.Method, _ message: some SwiftProtobuf.Message,
                                                  as type: Response.Type) async throws -> Response {
        var request = Ttrpc_Request()
        request.service = EnclaveService.name
        request.method = method.rawValue
        request.payload = try message.serializedBytes()
        let frame = Array(try Frame.request(streamID: 1, request).encoded().readableBytesView)
        let answer = try await self.threads.runIfActive(eventLoop: MultiThreadedEventLoopGroup.singleton.next()) {
            var buffer = [UInt8](repeating: 0, count: 64 << 10)
            return Array(try frame.withUnsafeBytes { try self.call(connection: Self.controlConnection, frame: $0, buffer: &buffer) })
        }.get()
        guard answer.count >= WireLimits.headerByteCount, answer[8] == FrameType.response.rawValue else {
            throw CallFailure(status: 7)   // HOSTILE_OCALL: not a response frame
        }
        let response = try Ttrpc_Response(serializedBytes: Array(answer[WireLimits.headerByteCount...]))
        if response.hasStatus, response.status.code != 0 { throw RPCError(status: response.status) }
        return try Response(serializedBytes: response.payload)
    }

    /// Asks for `Health`.
    func health() async throws -> Enclava_V1_HealthResponse {
        try await self.control(.health, Enclava_V1_HealthRequest(), as: Enclava_V1_HealthResponse.self)
    }

    /// Sends `Shutdown`, waits (up to `grace`) for running ecalls to end, destroys the enclave and stops the threads.
    func stop(grace: Duration) async -> String {
        var outcome = "the in-process enclave acknowledged Shutdown"
        do {
            _ = try await self.control(.shutdown, Enclava_V1_ShutdownRequest(), as: Enclava_V1_ShutdownResponse.self)
        } catch {
            outcome = "Shutdown was not acknowledged (\(error))"
        }
        let deadline = ContinuousClock.now + grace
        while true {
            let unloaded = (try? await self.threads.runIfActive(eventLoop: MultiThreadedEventLoopGroup.singleton.next()) {
                self.unload()
            }.get()) ?? true
            if unloaded || ContinuousClock.now >= deadline { break }
            try? await Task.sleep(for: .milliseconds(20))
        }
        try? await self.threads.shutdownGracefully()
        return outcome
    }
}
