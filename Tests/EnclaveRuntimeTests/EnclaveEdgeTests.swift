import CEnclaveEdge
import Foundation
import Synchronization
import Testing

/// What a test processor should do, reached through the edge's `trusted` pointer.
private final class Probe: @unchecked Sendable {
    var edge: OpaquePointer?
    var reentryStatus: enclava_edge_status?
    var closeStatus: enclava_edge_status?
    var pauseMicroseconds: UInt32 = 0
    var firstView: [UInt8] = []
    var secondView: [UInt8] = []
    var responseLength: Int?
    let seenFlag = Atomic<Bool>(false)
    var seen: Bool { seenFlag.load(ordering: .acquiring) }
}

/// Reverses the frame; on request re-enters the edge, pauses between two reads of its copy, or answers a
/// chosen length.
private let processor: enclava_edge_processor = { trusted, frame, length, response, responseLength in
    let probe = Unmanaged<Probe>.fromOpaque(trusted!).takeUnretainedValue()
    probe.firstView = Array(UnsafeBufferPointer(start: frame, count: length))
    probe.seenFlag.store(true, ordering: .releasing)
    if probe.pauseMicroseconds > 0 { usleep(probe.pauseMicroseconds) }
    probe.secondView = Array(UnsafeBufferPointer(start: frame, count: length))
    if let edge = probe.edge {
        var inner: [UInt8] = [1, 2, 3]
        var out = [UInt8](repeating: 0, count: 8)
        var outLength = 0
        probe.reentryStatus = enclava_edge_call(edge, &inner, 3, &out, 8, &outLength)
        probe.closeStatus = enclava_edge_close(edge)
    }
    let count = probe.responseLength ?? length
    let bytes = malloc(max(count, 1))!.assumingMemoryBound(to: UInt8.self)
    for index in 0..<count { bytes[index] = index < length ? frame![length - 1 - index] : 0 }
    response!.pointee = bytes
    responseLength!.pointee = count
    return 0
}

/// Issue 11: the in-process edge's rules, tried as a hostile host would (CShims/CEnclaveEdge).
@Suite struct EnclaveEdgeTests {
    private let probe = Probe()

    private func open(maxFrameBytes: Int = 1024, ocalls: UnsafePointer<enclava_edge_ocalls>? = nil) throws -> OpaquePointer {
        var edge: OpaquePointer?
        let status = enclava_edge_open(maxFrameBytes, processor, Unmanaged.passUnretained(probe).toOpaque(), ocalls, &edge)
        try #require(status == ENCLAVA_EDGE_OK)
        return try #require(edge)
    }

    private func call(_ edge: OpaquePointer, _ input: [UInt8], capacity: Int) -> (enclava_edge_status, [UInt8], Int) {
        var input = input
        var out = [UInt8](repeating: 0, count: capacity)
        var length = 0
        let status = out.withUnsafeMutableBufferPointer { buffer in
            enclava_edge_call(edge, &input, input.count, buffer.baseAddress, capacity, &length)
        }
        return (status, out, length)
    }

    @Test func aFrameGoesInAndItsAnswerComesOut() throws {
        let edge = try open()
        defer { enclava_edge_close(edge) }
        let (status, out, length) = call(edge, [1, 2, 3, 4], capacity: 16)
        #expect(status == ENCLAVA_EDGE_OK)
        #expect(Array(out.prefix(length)) == [4, 3, 2, 1])
    }

    @Test func nullsAndSizesAreRefusedBeforeAnyCopy() throws {
        let edge = try open(maxFrameBytes: 100)
        defer { enclava_edge_close(edge) }
        var input = [UInt8](repeating: 7, count: 111)
        var out = [UInt8](repeating: 0, count: 200)
        var length = 0
        #expect(enclava_edge_call(nil, &input, 4, &out, 200, &length) == ENCLAVA_EDGE_INVALID_ARGUMENT)
        #expect(enclava_edge_call(edge, nil, 4, &out, 200, &length) == ENCLAVA_EDGE_INVALID_ARGUMENT)
        #expect(enclava_edge_call(edge, &input, 0, &out, 200, &length) == ENCLAVA_EDGE_INVALID_ARGUMENT)
        #expect(enclava_edge_call(edge, &input, 4, nil, 200, &length) == ENCLAVA_EDGE_INVALID_ARGUMENT)
        #expect(enclava_edge_call(edge, &input, 4, &out, 200, nil) == ENCLAVA_EDGE_INVALID_ARGUMENT)
        // Over max_frame_bytes + the 10-byte header.
        #expect(enclava_edge_call(edge, &input, 111, &out, 200, &length) == ENCLAVA_EDGE_TOO_LARGE)
        #expect(enclava_edge_call(edge, &input, 110, &out, 200, &length) == ENCLAVA_EDGE_OK)
        // A pointer whose end wraps around the address space is refused without being read.
        let wrapping = UnsafePointer<UInt8>(bitPattern: UInt.max - 3)
        #expect(enclava_edge_call(edge, wrapping, 16, &out, 200, &length) == ENCLAVA_EDGE_TOO_LARGE)
        #expect(!probe.seen || probe.firstView.count == 110)
    }

    @Test func overlappingBuffersAreRefused() throws {
        let edge = try open()
        defer { enclava_edge_close(edge) }
        var buffer = [UInt8](repeating: 1, count: 64)
        var length = 0
        let status = buffer.withUnsafeMutableBufferPointer { bytes in
            enclava_edge_call(edge, bytes.baseAddress, 16, bytes.baseAddress! + 8, 32, &length)
        }
        #expect(status == ENCLAVA_EDGE_INVALID_ARGUMENT)
        #expect(!probe.seen)
        #expect(enclava_edge_ranges_overlap(0x1000, 16, 0x1010, 16) == 0)
        #expect(enclava_edge_ranges_overlap(0x1000, 17, 0x1010, 16) == 1)
        #expect(enclava_edge_ranges_overlap(UInt.max - 2, 8, 0, 1) == 1)
    }

    @Test func aResponseThatDoesNotFitWaitsToBeCollected() throws {
        let edge = try open()
        defer { enclava_edge_close(edge) }
        let (status, _, needed) = call(edge, Array(1...40), capacity: 10)
        #expect(status == ENCLAVA_EDGE_SHORT_BUFFER)
        #expect(needed == 40)
        #expect(call(edge, [9], capacity: 64).0 == ENCLAVA_EDGE_PENDING)
        var out = [UInt8](repeating: 0, count: 40)
        var length = 0
        #expect(enclava_edge_collect(edge, &out, 39, &length) == ENCLAVA_EDGE_SHORT_BUFFER)
        #expect(enclava_edge_collect(edge, &out, 40, &length) == ENCLAVA_EDGE_OK)
        #expect(out == Array((1...40).reversed()))
        #expect(enclava_edge_collect(edge, &out, 40, &length) == ENCLAVA_EDGE_NOTHING_PENDING)
    }

    @Test func reentryAndCloseDuringACallAreRefused() throws {
        let edge = try open()
        probe.edge = edge
        let (status, _, _) = call(edge, [5, 6], capacity: 8)
        probe.edge = nil
        #expect(status == ENCLAVA_EDGE_OK)
        #expect(probe.reentryStatus == ENCLAVA_EDGE_BUSY)
        #expect(probe.closeStatus == ENCLAVA_EDGE_BUSY)
        #expect(enclava_edge_close(edge) == ENCLAVA_EDGE_OK)
    }

    /// TOCTOU (TaLoS #13): a host thread rewrites its input buffer while the call runs; the enclave reads its
    /// own copy, so what it sees cannot change between two reads.
    @Test func aHostRewritingItsInputDuringTheCallChangesNothing() throws {
        let edge = try open(maxFrameBytes: 1 << 16)
        defer { enclava_edge_close(edge) }
        probe.pauseMicroseconds = 50_000
        let input = UnsafeMutablePointer<UInt8>.allocate(capacity: 1 << 16)
        defer { input.deallocate() }
        input.initialize(repeating: 0xAA, count: 1 << 16)
        let address = UInt(bitPattern: input)
        let stop = Probe()
        let writer = Thread { [probe] in
            let input = UnsafeMutablePointer<UInt8>(bitPattern: address)!
            var value: UInt8 = 0
            while !stop.seen {
                value &+= 1
                for index in stride(from: 0, to: 1 << 16, by: 61) { input[index] = value }
                if probe.seen { usleep(100) }
            }
        }
        writer.start()
        var out = [UInt8](repeating: 0, count: 1 << 16)
        var length = 0
        let status = enclava_edge_call(edge, input, 1 << 16, &out, 1 << 16, &length)
        stop.seenFlag.store(true, ordering: .releasing)
        #expect(status == ENCLAVA_EDGE_OK)
        #expect(probe.firstView == probe.secondView)
        #expect(Array(out.reversed()) == probe.firstView)
    }

    @Test func aProcessorAnswerOverTheCapIsAnInternalError() throws {
        let edge = try open(maxFrameBytes: 16)
        defer { enclava_edge_close(edge) }
        probe.responseLength = 27
        #expect(call(edge, [1], capacity: 64).0 == ENCLAVA_EDGE_INTERNAL)
        probe.responseLength = 26
        #expect(call(edge, [1], capacity: 64).0 == ENCLAVA_EDGE_OK)
    }

    /// Every ocall answer is hostile until checked: a length above the one asked for is refused and nothing
    /// past the caller's capacity is written.
    @Test(arguments: [(answer: 8, status: Int32(0), expected: ENCLAVA_EDGE_OK),
                      (answer: 9, status: Int32(0), expected: ENCLAVA_EDGE_HOSTILE_OCALL),
                      (answer: Int.max, status: Int32(0), expected: ENCLAVA_EDGE_HOSTILE_OCALL),
                      (answer: 4, status: Int32(5), expected: ENCLAVA_EDGE_INTERNAL)])
    func imageReadsCheckTheHostsAnswer(answer: Int, status: Int32, expected: enclava_edge_status) throws {
        final class Host { var answer = 0; var status: Int32 = 0 }
        let host = Host()
        host.answer = answer
        host.status = status
        var ocalls = enclava_edge_ocalls()
        ocalls.host = Unmanaged.passUnretained(host).toOpaque()
        ocalls.read_image = { context, _, buffer, capacity, readLength in
            let host = Unmanaged<Host>.fromOpaque(context!).takeUnretainedValue()
            for index in 0..<capacity { buffer![index] = 0x5A }
            readLength!.pointee = host.answer
            return host.status
        }
        let edge = try withUnsafePointer(to: &ocalls) { try open(ocalls: $0) }
        defer { enclava_edge_close(edge) }
        var buffer = [UInt8](repeating: 0xCC, count: 12)
        var read = 0
        #expect(enclava_edge_read_image(edge, 0, &buffer, 8, &read) == expected)
        #expect(buffer.suffix(4) == [0xCC, 0xCC, 0xCC, 0xCC], "nothing past the capacity")
        #expect(read == (expected == ENCLAVA_EDGE_OK ? 8 : 0))
        #expect(buffer.prefix(8).allSatisfy { $0 == (expected == ENCLAVA_EDGE_OK ? 0x5A : 0xCC) })
    }
}
