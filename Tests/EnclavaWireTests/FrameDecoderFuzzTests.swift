import EnclavaWire
import NIOCore
import Testing

/// Randomised versions of the decoder properties: any chunking of a valid stream decodes the same, and
/// arbitrary bytes never crash the decoder or make it buffer more than one frame's worth.
@Suite struct FrameDecoderFuzzTests {
    @Test(arguments: 0..<40 as Range<UInt64>)
    func randomValidStreamsDecodeTheSameInAnyChunking(seed: UInt64) throws {
        var rng = SplitMix64(state: seed &* 7919 &+ 17)
        let limit = Int.random(in: 0...300, using: &rng)
        var bytes: [UInt8] = []
        var expected: [DecodedEvent] = []
        for _ in 0..<Int.random(in: 1...30, using: &rng) {
            let id = UInt32.random(in: 0...UInt32.max, using: &rng)
            let type = FrameType.allCases.randomElement(using: &rng)!
            let flags = UInt8.random(in: 0...7, using: &rng)
            let length = Int.random(in: 0...(limit + 200), using: &rng)
            let payload = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            bytes += header(length: UInt32(length), streamID: id, type: type.rawValue, flags: flags) + payload
            expected.append(length > limit ? .oversized(streamID: id, type: type.rawValue, length: UInt32(length))
                                            : .frame(streamID: id, type: type, flags: flags, payload: payload))
        }
        var chunks: [Int] = []
        var total = 0
        while total < bytes.count {
            let size = Int.random(in: 1...max(1, bytes.count / 3), using: &rng)
            chunks.append(size)
            total += size
        }
        #expect(try decode(bytes, chunks: chunks, maxFrameBytes: limit) == expected)
    }

    @Test(arguments: 0..<40 as Range<UInt64>)
    func randomBytesNeverCrashAndOnlyFailWithWireErrors(seed: UInt64) {
        var rng = SplitMix64(state: seed &+ 0xDEAD_BEEF)
        let bytes = (0..<Int.random(in: 0...2000, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let limit = 512
        let processor = NIOSingleStepByteToMessageProcessor(FrameDecoder(maxFrameBytes: limit))
        var offset = 0
        do {
            while offset < bytes.count {
                let end = min(bytes.count, offset + Int.random(in: 1...97, using: &rng))
                try processor.process(buffer: ByteBuffer(bytes: bytes[offset..<end])) { event in
                    if case .frame(let frame) = event { #expect(frame.payload.readableBytes <= limit) }
                }
                // Never more buffered than one frame within the limit plus one chunk.
                #expect(processor.unprocessedBytes <= WireLimits.headerByteCount + limit + 97)
                offset = end
            }
            try processor.finishProcessing(seenEOF: true) { _ in }
        } catch let error as WireError {
            #expect(error.code == .malformedFrame || error.code == .truncatedFrame)
        } catch {
            Issue.record("unexpected error type: \(error)")
        }
    }
}
