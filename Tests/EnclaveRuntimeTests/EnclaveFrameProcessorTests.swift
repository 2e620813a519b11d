import EnclavaWire
import Foundation
import Testing
@testable import EnclaveRuntime

/// Issue 11: the frame processor behind the ocall edge applies the socket server's rules to one whole frame and
/// never answers over the frame limit (the case FuzzEnclaveEdge found: an error message longer than a small limit).
@Suite struct EnclaveFrameProcessorTests {
    /// Answers Health with its payload; nothing else.
    struct Echo: TTRPCServiceHandler {
        func handle(method: String, service: String, payload: [UInt8]) async -> Result<[UInt8], RPCError> { .success(payload) }
    }

    static func frame(stream: UInt32, type: UInt8 = 1, flags: UInt8 = 0, payload: [UInt8], claimed: Int? = nil) -> [UInt8] {
        let length = UInt32(claimed ?? payload.count)
        return withUnsafeBytes(of: length.bigEndian, Array.init) + withUnsafeBytes(of: stream.bigEndian, Array.init)
            + [type, flags] + payload
    }

    static func health() throws -> [UInt8] {
        var request = Ttrpc_Request()
        request.service = EnclaveService.name
        request.method = "Health"
        request.payload = Data([1, 2, 3])
        return try request.serializedBytes()
    }

    /// The status of an answer frame, and its stream.
    static func status(_ answer: [UInt8]) throws -> (stream: UInt32, error: RPCError?) {
        let stream = answer[4..<8].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let response = try Ttrpc_Response(serializedBytes: Array(answer[10...]))
        return (stream, response.status.code == 0 ? nil : RPCError(status: response.status))
    }

    @Test func aWellFormedRequestIsAnsweredOnItsStream() async throws {
        let processor = EnclaveFrameProcessor(handler: Echo(), maxFrameBytes: 1024)
        let answer = await processor.process(Self.frame(stream: 7, payload: try Self.health()), connection: .inProcess)
        let (stream, error) = try Self.status(answer)
        #expect(stream == 7 && error == nil)
    }

    @Test(arguments: [(claimed: 99, flags: UInt8(0), stream: UInt32(5), reason: "MALFORMED_FRAME"),
                      (claimed: nil, flags: UInt8(0x80), stream: UInt32(5), reason: "MALFORMED_FRAME"),
                      (claimed: nil, flags: UInt8(0), stream: UInt32(4), reason: "INVALID_STREAM_ID")])
    func malformedFramesAreRefusedOnTheirStream(claimed: Int?, flags: UInt8, stream: UInt32, reason: String) async throws {
        let processor = EnclaveFrameProcessor(handler: Echo(), maxFrameBytes: 1024)
        let answer = await processor.process(Self.frame(stream: stream, flags: flags, payload: try Self.health(), claimed: claimed),
                                             connection: .inProcess)
        let (answered, error) = try Self.status(answer)
        #expect(answered == stream)
        #expect(error?.code == .invalidArgument && error?.reason == reason)
    }

    @Test func aResponseOrDataFrameFromTheHostGetsNoAnswer() async throws {
        let processor = EnclaveFrameProcessor(handler: Echo(), maxFrameBytes: 1024)
        #expect(await processor.process(Self.frame(stream: 1, type: 2, payload: []), connection: .inProcess).isEmpty)
        #expect(await processor.process(Self.frame(stream: 1, type: 3, payload: [9]), connection: .inProcess).isEmpty)
    }

    @Test func anErrorLongerThanASmallLimitIsSentWithItsCodeAlone() async throws {
        let processor = EnclaveFrameProcessor(handler: Echo(), maxFrameBytes: 16)
        let answer = await processor.process(Self.frame(stream: 5, type: 3, payload: [], claimed: 3), connection: .inProcess)
        #expect(answer.count - 10 <= 16)
        let (stream, error) = try Self.status(answer)
        #expect(stream == 5 && error?.code == .invalidArgument && error?.reason == "")
    }
}
