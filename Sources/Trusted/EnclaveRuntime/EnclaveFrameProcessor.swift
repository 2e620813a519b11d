import EnclavaWire
import Foundation
import NIOCore
import SwiftProtobuf

/// Serves ttrpc frames handed over as bytes rather than read from a socket: the in-process ocall edge
/// (`CShims/CEnclaveEdge`, issue 11) calls it once per ecall with one request frame, already copied into
/// enclave-owned memory, and sends back the one response frame it returns.
///
/// It applies the socket server's rules (``TTRPCServer``) to that frame — a request frame only, a `ttrpc.Request`
/// that parses, an odd stream id, a served method, an answer within the frame limit — and hands the call to the
/// same ``TTRPCServiceHandler`` (``EnclaveRequestHandler`` in the enclave), admitted and run on `connection`, so
/// sessions, HPKE and evidence are the socket path's code and stay bound to the connection they came on.
/// One edge connection carries one call at a time (the edge refuses a second with BUSY), so calls of a connection
/// are admitted in the order the host sends them.
public struct EnclaveFrameProcessor: Sendable {
    /// What answers the calls.
    public let handler: any TTRPCServiceHandler
    /// The largest request or response payload (the image's `max_frame_bytes`).
    public let maxFrameBytes: Int

    /// Creates a processor.
    /// - Parameters:
    ///   - handler: the service (the enclave's ``EnclaveRequestHandler`` for the client or control channel).
    ///   - maxFrameBytes: the frame payload limit.
    public init(handler: any TTRPCServiceHandler, maxFrameBytes: Int) {
        self.handler = handler
        self.maxFrameBytes = maxFrameBytes
    }

    /// Answers one frame that arrived on `connection`.
    /// - Parameters:
    ///   - frame: the whole frame, header included (hostile bytes).
    ///   - connection: the ttrpc connection it belongs to.
    /// - Returns: the response frame's bytes, or an empty array when the frame gets no answer (a response or data
    ///   frame from the host, which the socket server ignores too).
    public func process(_ frame: [UInt8], connection: TTRPCConnectionID) async -> [UInt8] {
        guard frame.count >= WireLimits.headerByteCount else {
            return answer(streamID: 0, .failure(Self.malformed("a frame needs its 10-byte header, got \(frame.count) bytes")))
        }
        let length = frame[0..<4].reduce(0) { $0 << 8 | Int($1) }
        let streamID = frame[4..<8].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let type = frame[8]
        let flags = FrameFlags(rawValue: frame[9])
        guard length == frame.count - WireLimits.headerByteCount else {
            return answer(streamID: streamID, .failure(Self.malformed(
                "the header says \(length) payload bytes but the frame carries \(frame.count - WireLimits.headerByteCount)")))
        }
        guard FrameFlags.all.isSuperset(of: flags) else {
            return answer(streamID: streamID, .failure(Self.malformed("unknown frame flags 0x\(String(flags.rawValue, radix: 16))")))
        }
        guard length <= maxFrameBytes else {
            return type == FrameType.request.rawValue
                ? answer(streamID: streamID, .failure(.frameTooLarge(length: length, limit: maxFrameBytes))) : []
        }
        guard type == FrameType.request.rawValue else { return [] }
        let request: Ttrpc_Request
        do {
            request = try Ttrpc_Request(serializedBytes: Array(frame[WireLimits.headerByteCount...]))
        } catch {
            return answer(streamID: streamID, .failure(RPCError(.invalidArgument, reason: "MALFORMED_REQUEST",
                                                                     message: "the request frame does not hold a ttrpc.Request: \(error)")))
        }
        guard streamID % 2 == 1 else {
            return answer(streamID: streamID, .failure(RPCError(.invalidArgument, reason: "INVALID_STREAM_ID",
                                                                     message: "client stream ids must be odd, got \(streamID)")))
        }
        guard handler.supports(service: request.service, method: request.method) else {
            return answer(streamID: streamID, .failure(RPCError(.unimplemented, reason: "UNKNOWN_METHOD",
                                                                     message: "\(request.service)/\(request.method) is not served here")))
        }
        let run = await handler.admit(method: request.method, service: request.service, payload: [UInt8](request.payload),
                                      connection: connection)
        return answer(streamID: streamID, await run())
    }

    /// Forgets what `connection` held (its sessions and unused evidence): the edge's disconnect.
    public func connectionClosed(_ connection: TTRPCConnectionID) async {
        await handler.connectionClosed(connection)
    }

    private static func malformed(_ why: String) -> RPCError {
        RPCError(.invalidArgument, reason: "MALFORMED_FRAME", message: "\(why); send one whole ttrpc frame per ecall")
    }

    /// The response frame for `result` on `streamID` (the socket server's `reply`), never over the frame limit: a
    /// response that would be is answered `RESOURCE_EXHAUSTED` (`RESPONSE_TOO_LARGE`), an error whose message would be
    /// is sent with its code alone, and when even that does not fit (a limit of a few bytes) nothing is answered.
    func answer(streamID: UInt32, _ result: Result<[UInt8], RPCError>) -> [UInt8] {
        var frame: Frame
        switch result {
        case .success(let payload):
            var response = Ttrpc_Response()
            response.status = Google_Rpc_Status()
            response.payload = Data(payload)
            if let encoded = try? Frame.response(streamID: streamID, response), encoded.payload.readableBytes <= maxFrameBytes {
                frame = encoded
            } else {
                frame = .errorResponse(streamID: streamID, RPCError(
                    .resourceExhausted, reason: "RESPONSE_TOO_LARGE",
                    message: "the \(payload.count)-byte response exceeds the \(maxFrameBytes)-byte frame limit"))
            }
        case .failure(let error):
            frame = .errorResponse(streamID: streamID, error)
        }
        if frame.payload.readableBytes > maxFrameBytes {
            var bare = Ttrpc_Response()
            bare.status.code = (try? Ttrpc_Response(serializedBytes: Array(frame.payload.readableBytesView)))?.status.code ?? 13
            guard let encoded = try? Frame.response(streamID: streamID, bare), encoded.payload.readableBytes <= maxFrameBytes else {
                return []
            }
            frame = encoded
        }
        guard let bytes = try? frame.encoded() else { return [] }
        return Array(bytes.readableBytesView)
    }
}
