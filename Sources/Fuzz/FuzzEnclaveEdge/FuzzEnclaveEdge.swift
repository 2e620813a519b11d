import CEnclaveEdge
import EnclavaWire
import EnclaveRuntime
import Foundation
import FuzzSupport
import NIOCore

/// libFuzzer entry for the in-process ocall edge (issue 11): byte 0 picks the edge's frame cap, byte 1 the host's
/// output capacity, byte 2 how the input pointer sits (aligned, inside the output buffer, or at the end of the
/// address space); the rest is the frame. It goes through `enclava_edge_call` into the real
/// ``EnclaveFrameProcessor`` (over a stand-in service that answers Health and echoes Infer), and every answer is held
/// to the edge's contract: a known status; OK → a length within the capacity and a well-formed response frame on the
/// request's stream (or nothing); SHORT_BUFFER → a length above the capacity and within the cap, collected in full;
/// refusals before any copy for overlap and oversize. `enclava_edge_ranges_overlap` is checked against a reference.
/// Built only by `make fuzz` (ENCLAVA_FUZZ=1, `-sanitize=fuzzer -parse-as-library`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEnclaveEdge(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = FuzzDriver.bytes(data, size)
    guard bytes.count >= 3 else { return 0 }
    let caps = [16, 64, 1024, 4 << 20]
    let maxFrameBytes = caps[Int(bytes[0]) % caps.count]
    let capacities = [0, 1, 9, 10, 11, 64, 4096, (4 << 20) + 10]
    let capacity = capacities[Int(bytes[1]) % capacities.count]
    let frame = Array(bytes.dropFirst(3))
    checkOverlapReference(bytes)
    var edge: OpaquePointer?
    let context = Unmanaged.passRetained(FuzzEdgeContext(maxFrameBytes: maxFrameBytes))
    defer { context.release() }
    guard enclava_edge_open(maxFrameBytes, fuzzProcessor, context.toOpaque(), nil, &edge) == ENCLAVA_EDGE_OK, let edge else {
        fatalError("the edge did not open")
    }
    defer { precondition(enclava_edge_close(edge) == ENCLAVA_EDGE_OK) }
    var out = [UInt8](repeating: 0xEE, count: max(capacity, frame.count + 16))
    var length = 0
    let status: enclava_edge_status
    switch bytes[2] % 3 {
    case 1 where !frame.isEmpty:
        // The output inside the input (an empty output overlaps nothing): refused, nothing processed.
        out.replaceSubrange(0..<frame.count, with: frame)
        status = out.withUnsafeMutableBufferPointer { buffer in
            enclava_edge_call(edge, buffer.baseAddress, frame.count, buffer.baseAddress! + frame.count / 2, max(capacity, 1), &length)
        }
        precondition(status == ENCLAVA_EDGE_INVALID_ARGUMENT || status == ENCLAVA_EDGE_TOO_LARGE, "overlap accepted: \(status)")
        return 0
    case 2:
        // A pointer whose end wraps: refused without a read.
        let wrapping = UnsafePointer<UInt8>(bitPattern: UInt.max - UInt(bytes[2] >> 2))
        status = enclava_edge_call(edge, wrapping, max(frame.count, 1) + 256, &out, capacity, &length)
        precondition(status == ENCLAVA_EDGE_TOO_LARGE || status == ENCLAVA_EDGE_INVALID_ARGUMENT, "wrapping input accepted: \(status)")
        return 0
    default:
        status = frame.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { buffer in
                enclava_edge_call(edge, input.baseAddress, frame.count, buffer.baseAddress, capacity, &length)
            }
        }
    }
    let cap = maxFrameBytes + Int(ENCLAVA_EDGE_FRAME_HEADER_BYTES)
    switch status {
    case ENCLAVA_EDGE_OK:
        precondition(length <= capacity, "OK with \(length) bytes in a \(capacity)-byte buffer")
        checkResponse(Array(out.prefix(length)), to: frame)
    case ENCLAVA_EDGE_SHORT_BUFFER:
        precondition(length > capacity && length <= cap, "SHORT_BUFFER with \(length) for capacity \(capacity), cap \(cap)")
        var full = [UInt8](repeating: 0, count: length)
        var collected = 0
        precondition(enclava_edge_collect(edge, &full, length, &collected) == ENCLAVA_EDGE_OK && collected == length)
        checkResponse(full, to: frame)
    case ENCLAVA_EDGE_INVALID_ARGUMENT:
        precondition(frame.isEmpty, "a non-empty frame refused as an invalid argument")
    case ENCLAVA_EDGE_TOO_LARGE:
        precondition(frame.count > cap, "a \(frame.count)-byte frame refused under the \(cap)-byte cap")
    default:
        preconditionFailure("unexpected status \(status.rawValue)")
    }
    return 0
}

/// A response the processor gives: nothing (a non-request frame), or one whole response frame.
private func checkResponse(_ response: [UInt8], to frame: [UInt8]) {
    guard !response.isEmpty else { return }
    precondition(response.count >= 10, "a response shorter than its header")
    let length = response[0..<4].reduce(0) { $0 << 8 | Int($1) }
    precondition(length == response.count - 10, "a response whose header disagrees with its length")
    precondition(response[8] == FrameType.response.rawValue, "an answer that is not a response frame")
    if frame.count >= 10 { precondition(response[4..<8] == frame[4..<8], "an answer on another stream") }
    precondition((try? Ttrpc_Response(serializedBytes: response[10...])) != nil, "a response that does not decode")
}

/// `enclava_edge_ranges_overlap` against the obvious definition, on values taken from the input.
private func checkOverlapReference(_ bytes: [UInt8]) {
    guard bytes.count >= 35 else { return }
    func word(_ at: Int) -> UInt { bytes[at..<at + 8].reduce(UInt(0)) { $0 << 8 | UInt($1) } }
    let (a, aLength, b, bLength) = (word(3), word(11) >> (bytes[0] & 63), word(19), word(27) >> (bytes[1] & 63))
    let expected: Int32
    if aLength == 0 || bLength == 0 {
        expected = 0
    } else if a > UInt.max - aLength || b > UInt.max - bLength {
        expected = 1
    } else {
        expected = a < b + bLength && b < a + aLength ? 1 : 0
    }
    precondition(enclava_edge_ranges_overlap(a, Int(bitPattern: aLength), b, Int(bitPattern: bLength)) == expected)
}

/// The processor behind the fuzzed edge: the real frame processor over a stand-in service.
private final class FuzzEdgeContext: @unchecked Sendable {
    let processor: EnclaveFrameProcessor
    init(maxFrameBytes: Int) { processor = EnclaveFrameProcessor(handler: EchoService(), maxFrameBytes: maxFrameBytes) }
}

private let fuzzProcessor: enclava_edge_processor = { trusted, frame, length, response, responseLength in
    let context = Unmanaged<FuzzEdgeContext>.fromOpaque(trusted!).takeUnretainedValue()
    let bytes = Array(UnsafeBufferPointer(start: frame, count: length))
    let done = DispatchSemaphore(value: 0)
    final class Box: @unchecked Sendable { var answer: [UInt8] = [] }
    let box = Box()
    let processor = context.processor
    Task.detached {
        box.answer = await processor.process(bytes, connection: .inProcess)
        done.signal()
    }
    done.wait()
    let answer = box.answer
    let copy = malloc(max(answer.count, 1))!.assumingMemoryBound(to: UInt8.self)
    answer.withUnsafeBufferPointer { if !$0.isEmpty { copy.update(from: $0.baseAddress!, count: $0.count) } }
    response!.pointee = copy
    responseLength!.pointee = answer.count
    return 0
}

/// Health answers; Infer echoes its payload; nothing else is served.
private struct EchoService: TTRPCServiceHandler {
    func handle(method: String, service: String, payload: [UInt8]) async -> Result<[UInt8], RPCError> {
        method == EnclaveService.Method.infer.rawValue || method == EnclaveService.Method.health.rawValue
            ? .success(payload) : .failure(RPCError(.unimplemented, reason: "UNIMPLEMENTED", message: method))
    }
}

/// Seeds: real request frames (Health, Infer, a response frame, a data frame) behind each control prefix.
private func writeSeeds(_ folder: String) throws {
    var health = Ttrpc_Request()
    health.service = EnclaveService.name
    health.method = "Health"
    var infer = health
    infer.method = "Infer"
    infer.payload = Data(repeating: 0x42, count: 300)
    let frames = [try Frame.request(streamID: 1, health), try Frame.request(streamID: 3, infer),
                  Frame(streamID: 5, type: .data, payload: ByteBuffer(bytes: [1, 2, 3]))]
    for (index, frame) in frames.enumerated() {
        for control: [UInt8] in [[0, 2, 0], [2, 5, 0], [3, 0, 0], [1, 3, 0]] {
            let bytes = control + Array(try frame.encoded().readableBytesView)
            try Data(bytes).write(to: URL(fileURLWithPath: "\(folder)/frame\(index)-\(control[0])\(control[1]).bin"))
        }
    }
}

/// `main` for libFuzzer (see ``FuzzDriver/run(_:_:_:)``); with `ENCLAVA_FUZZ_WRITE_SEEDS=<folder>` it writes its seeds.
@_cdecl("FuzzEnclaveEdge_main")
public func fuzzEnclaveEdgeMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    if let folder = FuzzDriver.seedFolder {
        do { try writeSeeds(folder) } catch { fatalError("cannot write seeds: \(error)") }
        return 0
    }
    return FuzzDriver.run(argc, argv, fuzzEnclaveEdge)
}
