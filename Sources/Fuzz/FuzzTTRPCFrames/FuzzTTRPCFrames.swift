import EnclavaWire
import Foundation
import FuzzSupport
import NIOCore
import SwiftProtobuf

/// libFuzzer entry for the ttrpc byte stream as a peer sends it: byte 0 picks the frame limit (4 MiB or 64
/// bytes, so that the oversized-frame discard path is reached) and how the rest is cut into reads; the rest
/// is fed to ``FrameDecoder`` in those chunks, exactly as NIO hands a socket's reads to it, then end of
/// stream. Each frame is handled as the server (request frames) or the client (response frames) would: the
/// payload decoded as `ttrpc.Request` / `ttrpc.Response`, a refusal encoded as an error frame, a response's
/// status turned into an ``RPCError``.
/// Built only by `make fuzz` (ENCLAVA_FUZZ=1, `-sanitize=fuzzer -parse-as-library`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTTRPCFrames(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = FuzzDriver.bytes(data, size)
    guard let control = bytes.first else { return 0 }
    let stream = Array(bytes.dropFirst())
    var decoder = FrameDecoder(maxFrameBytes: control & 0x80 == 0 ? WireLimits.defaultMaxFrameBytes : 64)
    let widest = Int(control & 0x7F) + 1
    var buffer = ByteBufferAllocator().buffer(capacity: 0)
    var position = 0
    do {
        while position < stream.count {
            // Split points come from the input: each read is 1…widest bytes, its length taken from the
            // byte where it starts.
            let length = min(stream.count - position, 1 + Int(stream[position]) % widest)
            buffer.writeBytes(stream[position..<position + length])
            position += length
            while let event = try decoder.decode(buffer: &buffer) { handle(event, limit: decoder.maxFrameBytes) }
            if buffer.readerIndex > 1024 { buffer.discardReadBytes() }
        }
        while let event = try decoder.decodeLast(buffer: &buffer, seenEOF: true) { handle(event, limit: decoder.maxFrameBytes) }
    } catch let error as WireError {
        _ = error.description
    } catch {
        fatalError("FrameDecoder threw something other than a WireError: \(error)")
    }
    return 0
}

/// What the server or the client does with one decoded event.
private func handle(_ event: FrameDecoderEvent, limit: Int) {
    switch event {
    case .oversized(let streamID, _, let length):
        _ = try? Frame.errorResponse(streamID: streamID, .frameTooLarge(length: Int(length), limit: limit)).encoded()
    case .frame(let frame):
        switch frame.type {
        case .request:
            do {
                let request = try frame.decodeRequest()
                _ = EnclaveService.Method(rawValue: request.method)
                _ = [UInt8](request.payload)
                _ = request.metadata.map { ($0.key, $0.value) }
            } catch {
                let refusal = RPCError(.invalidArgument, reason: "MALFORMED_REQUEST",
                                       message: "the request frame does not hold a ttrpc.Request: \(error)")
                _ = try? Frame.errorResponse(streamID: frame.streamID, refusal).encoded()
            }
        case .response:
            guard let response = try? frame.decodeResponse() else { return }
            if response.hasStatus, response.status.code != 0 {
                _ = RPCError(status: response.status).description
            }
            _ = [UInt8](response.payload)
        case .data:
            _ = frame.payload.readableBytes
        }
    }
}

/// Writes seed inputs (real frames from the encoders) into `folder`.
private func writeSeeds(_ folder: String) throws {
    var request = Ttrpc_Request()
    request.service = EnclaveService.name
    request.method = EnclaveService.Method.getEvidence.rawValue
    var evidence = Enclava_V1_GetEvidenceRequest()
    evidence.nonce = Data(repeating: 0xA5, count: 32)
    request.payload = try evidence.serializedData()
    request.timeoutNano = 5_000_000_000
    var response = Ttrpc_Response()
    response.payload = Data("answer".utf8)
    let frames: [(String, [Frame])] = [
        ("request", [try Frame.request(streamID: 1, request)]),
        ("response", [try Frame.response(streamID: 1, response)]),
        ("error", [Frame.errorResponse(streamID: 3, .frameTooLarge(length: 9_000_000, limit: 4 << 20))]),
        ("pipelined", [try Frame.request(streamID: 1, request), try Frame.request(streamID: 3, request),
                       Frame(streamID: 5, type: .data, flags: [.remoteClosed], payload: ByteBuffer(bytes: [1, 2, 3]))]),
    ]
    for (name, list) in frames {
        for control: UInt8 in [0x07, 0x80] {
            var bytes: [UInt8] = [control]
            for frame in list { bytes += Array(try frame.encoded().readableBytesView) }
            try Data(bytes).write(to: URL(fileURLWithPath: "\(folder)/\(name)-\(control).bin"))
        }
    }
}

/// `main` for libFuzzer (see ``FuzzDriver/run(_:_:_:)``); with `ENCLAVA_FUZZ_WRITE_SEEDS=<folder>` it writes
/// its seed inputs there instead.
@_cdecl("FuzzTTRPCFrames_main")
public func fuzzTTRPCFramesMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    if let folder = FuzzDriver.seedFolder {
        do { try writeSeeds(folder) } catch { fatalError("cannot write seeds: \(error)") }
        return 0
    }
    return FuzzDriver.run(argc, argv, fuzzTTRPCFrames)
}
