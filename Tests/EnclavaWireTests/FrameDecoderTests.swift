import EnclavaWire
import NIOCore
import Testing

/// A decoded event in a comparable form.
enum DecodedEvent: Equatable, CustomStringConvertible {
    case frame(streamID: UInt32, type: FrameType, flags: UInt8, payload: [UInt8])
    case oversized(streamID: UInt32, type: UInt8, length: UInt32)

    init(_ event: FrameDecoderEvent) {
        switch event {
        case .frame(let frame):
            self = .frame(streamID: frame.streamID, type: frame.type, flags: frame.flags.rawValue,
                          payload: Array(frame.payload.readableBytesView))
        case .oversized(let streamID, let type, let length):
            self = .oversized(streamID: streamID, type: type, length: length)
        }
    }

    var description: String {
        switch self {
        case .frame(let id, let type, let flags, let payload): return "frame(\(id), \(type), \(flags), \(payload.count) B)"
        case .oversized(let id, let type, let length): return "oversized(\(id), \(type), \(length))"
        }
    }
}

/// A small deterministic generator so that shuffled chunkings are reproducible.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Raw header bytes, written by hand (not by the code under test).
func header(length: UInt32, streamID: UInt32, type: UInt8, flags: UInt8) -> [UInt8] {
    [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF),
     UInt8(streamID >> 24), UInt8(streamID >> 16 & 0xFF), UInt8(streamID >> 8 & 0xFF), UInt8(streamID & 0xFF),
     type, flags]
}

/// Feeds `bytes` to a fresh decoder in the given chunk sizes and returns the events.
func decode(_ bytes: [UInt8], chunks: [Int], maxFrameBytes: Int, finish: Bool = true) throws -> [DecodedEvent] {
    let processor = NIOSingleStepByteToMessageProcessor(FrameDecoder(maxFrameBytes: maxFrameBytes))
    var events: [DecodedEvent] = []
    var offset = 0
    for size in chunks where offset < bytes.count {
        let end = min(bytes.count, offset + size)
        try processor.process(buffer: ByteBuffer(bytes: bytes[offset..<end])) { events.append(DecodedEvent($0)) }
        offset = end
    }
    if offset < bytes.count {
        try processor.process(buffer: ByteBuffer(bytes: bytes[offset...])) { events.append(DecodedEvent($0)) }
    }
    if finish {
        try processor.finishProcessing(seenEOF: true) { events.append(DecodedEvent($0)) }
    }
    return events
}

@Suite struct FrameDecoderTests {
    static let limit = 64

    /// A stream of frames of many shapes, including an empty one and an oversized one, and what it decodes to.
    static func sampleStream() -> (bytes: [UInt8], expected: [DecodedEvent]) {
        var bytes: [UInt8] = []
        var expected: [DecodedEvent] = []
        func add(_ id: UInt32, _ type: FrameType, _ flags: UInt8, _ payload: [UInt8]) {
            bytes += header(length: UInt32(payload.count), streamID: id, type: type.rawValue, flags: flags) + payload
            expected.append(.frame(streamID: id, type: type, flags: flags, payload: payload))
        }
        add(1, .request, 0, Array(0..<20))
        add(1, .response, 0, [])
        add(3, .data, 0x01 | 0x04, [0xFF])
        bytes += header(length: 1000, streamID: 5, type: 1, flags: 0) + Array(repeating: 0xAB, count: 1000)
        expected.append(.oversized(streamID: 5, type: 1, length: 1000))
        add(0xFFFF_FFFF, .request, 0x02, Array(repeating: 0x5A, count: Self.limit))   // exactly at the limit
        add(7, .response, 0, Array((0..<63).map { UInt8($0 * 3 & 0xFF) }))
        return (bytes, expected)
    }

    @Test func decodesAllAtOnce() throws {
        let (bytes, expected) = Self.sampleStream()
        #expect(try decode(bytes, chunks: [bytes.count], maxFrameBytes: Self.limit) == expected)
    }

    @Test func decodesByteByByte() throws {
        let (bytes, expected) = Self.sampleStream()
        #expect(try decode(bytes, chunks: Array(repeating: 1, count: bytes.count), maxFrameBytes: Self.limit) == expected)
    }

    @Test(arguments: [1, 2, 3, 42, 1234, 99_999] as [UInt64])
    func decodesInShuffledChunkSizes(seed: UInt64) throws {
        let (bytes, expected) = Self.sampleStream()
        var rng = SplitMix64(state: seed)
        var chunks: [Int] = []
        var total = 0
        while total < bytes.count {
            let size = Int.random(in: 1...64, using: &rng)
            chunks.append(size)
            total += size
        }
        chunks.shuffle(using: &rng)
        #expect(try decode(bytes, chunks: chunks, maxFrameBytes: Self.limit) == expected)
    }

    @Test func oversizedFrameIsDiscardedAsItStreamsInAndTheNextFrameDecodes() throws {
        let limit = WireLimits.defaultMaxFrameBytes
        let declared = limit + 2 << 20   // 6 MiB, over the default 4 MiB limit
        let processor = NIOSingleStepByteToMessageProcessor(FrameDecoder(maxFrameBytes: limit))
        var events: [DecodedEvent] = []
        let chunk = ByteBuffer(repeating: 0x41, count: 64 << 10)
        try processor.process(buffer: ByteBuffer(bytes: header(length: UInt32(declared), streamID: 9, type: 1, flags: 0))) {
            events.append(DecodedEvent($0))
        }
        var sent = 0
        var largestBuffered = 0
        while sent < declared {
            let piece = chunk.getSlice(at: 0, length: min(chunk.readableBytes, declared - sent))!
            try processor.process(buffer: piece) { events.append(DecodedEvent($0)) }
            sent += piece.readableBytes
            largestBuffered = max(largestBuffered, processor.unprocessedBytes)
        }
        // Never more than the bytes not yet looked at: the payload is not accumulated.
        #expect(largestBuffered == 0)
        #expect(events == [.oversized(streamID: 9, type: 1, length: UInt32(declared))])
        try processor.process(buffer: ByteBuffer(bytes: header(length: 2, streamID: 11, type: 1, flags: 0) + [7, 8])) {
            events.append(DecodedEvent($0))
        }
        #expect(events.last == .frame(streamID: 11, type: .request, flags: 0, payload: [7, 8]))
    }

    @Test func hugeDeclaredLengthIsNeverBuffered() throws {
        var decoder = FrameDecoder()
        var buffer = ByteBuffer(bytes: header(length: .max, streamID: 1, type: 1, flags: 0))
        buffer.writeBytes(Array(repeating: 0, count: 1 << 20))
        #expect(try decoder.decode(buffer: &buffer) == nil)
        #expect(buffer.readableBytes == 0)
        #expect(decoder.isDiscarding)
    }

    @Test(arguments: [0x00, 0x04, 0x7F, 0xFF] as [UInt8])
    func unknownFrameTypeIsMalformed(type: UInt8) throws {
        let bytes = header(length: 0, streamID: 1, type: type, flags: 0)
        let error = #expect(throws: WireError.self) { try decode(bytes, chunks: [bytes.count], maxFrameBytes: 64) }
        #expect(error?.code == .malformedFrame)
    }

    @Test func unknownFlagBitsAreMalformed() throws {
        let bytes = header(length: 0, streamID: 1, type: 1, flags: 0x08)
        let error = #expect(throws: WireError.self) { try decode(bytes, chunks: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1], maxFrameBytes: 64) }
        #expect(error?.code == .malformedFrame)
    }

    @Test func garbageAfterAValidFrameIsMalformed() throws {
        let bytes = header(length: 1, streamID: 1, type: 1, flags: 0) + [0x42] + Array("GET / HTTP/1.1\r\n".utf8)
        var events: [DecodedEvent] = []
        let processor = NIOSingleStepByteToMessageProcessor(FrameDecoder(maxFrameBytes: 64))
        let error = #expect(throws: WireError.self) {
            try processor.process(buffer: ByteBuffer(bytes: bytes)) { events.append(DecodedEvent($0)) }
        }
        #expect(error?.code == .malformedFrame)
        #expect(events == [.frame(streamID: 1, type: .request, flags: 0, payload: [0x42])])
    }

    @Test(arguments: [3, 10, 14])
    func endOfStreamInsideAFrameIsTruncated(cut: Int) throws {
        let bytes = Array((header(length: 8, streamID: 1, type: 2, flags: 0) + Array(repeating: 1, count: 8))[..<cut])
        let error = #expect(throws: WireError.self) { try decode(bytes, chunks: [bytes.count], maxFrameBytes: 64) }
        #expect(error?.code == .truncatedFrame)
    }

    @Test func endOfStreamInsideADiscardedFrameIsTruncated() throws {
        let bytes = header(length: 100, streamID: 1, type: 1, flags: 0) + Array(repeating: 0, count: 50)
        let error = #expect(throws: WireError.self) { try decode(bytes, chunks: [bytes.count], maxFrameBytes: 10) }
        #expect(error?.code == .truncatedFrame)
    }

    @Test func encoderOutputDecodesBack() throws {
        let frames = [Frame(streamID: 1, type: .request, payload: ByteBuffer(bytes: [1, 2, 3])),
                      Frame(streamID: 2, type: .response, flags: [.remoteClosed], payload: ByteBuffer()),
                      Frame(streamID: 3, type: .data, flags: [.remoteOpen, .noData], payload: ByteBuffer(bytes: [9]))]
        var wire = ByteBuffer()
        let encoder = FrameEncoder()
        for frame in frames { try encoder.encode(data: frame, out: &wire) }
        let events = try decode(Array(wire.readableBytesView), chunks: [5, 7, 11, 13], maxFrameBytes: 64)
        #expect(events == frames.map { DecodedEvent(.frame($0)) })
    }

    @Test func encoderRefusesFramesOverItsLimit() throws {
        var out = ByteBuffer()
        let error = #expect(throws: WireError.self) {
            try FrameEncoder(maxFrameBytes: 2).encode(data: Frame(streamID: 1, type: .request, payload: ByteBuffer(bytes: [1, 2, 3])),
                                                      out: &out)
        }
        #expect(error?.code == .frameTooLarge)
    }
}
