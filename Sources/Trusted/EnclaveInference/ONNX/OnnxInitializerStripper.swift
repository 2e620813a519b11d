/// Takes the `raw_data` of the graph's initializers out of an ONNX file before protobuf-c decodes it.
///
/// protobuf-c copies every `bytes` field it decodes, so decoding a whole file would hold a second copy of
/// every weight in the decode arena. This walks the protobuf wire format along `ModelProto.graph` (field 7)
/// → `GraphProto.initializer` (field 5) → `TensorProto.raw_data` (field 9), writes everything else (the small
/// remainder: nodes, names, shapes, attributes, `Constant` values) to a new buffer with the enclosing lengths
/// rewritten, and records where each initializer's `raw_data` is in the original file, so the decoder copies
/// it straight from there into the weight store. A stripped tensor gets `data_location` set to a marker
/// value (``strippedLocation``) so the C loader does not expect its elements in a typed field; the decoder
/// checks the recorded length against the tensor's dimensions instead.
///
/// Every length and offset is checked against the enclosing message before use; a file whose framing is
/// wrong is refused here with the same message protobuf-c's refusal gives.
enum OnnxInitializerStripper {
    /// `TensorProto.data_location` of a stripped tensor (EXTERNAL, which the C loader skips checking; the
    /// decoder tells it apart from a real external tensor by the recorded slice).
    static let strippedLocation: UInt64 = 1

    /// What stripping found.
    struct Result {
        /// Bytes of the stripped file.
        var strippedCount = 0
        /// For each graph initializer in file order: the byte range of its `raw_data` in the original file,
        /// or nil when it was left in place (no raw data, or external data).
        var rawData: [Range<Int>?] = []
    }

    private enum Level { case model, graph, tensor }

    /// Measures the stripped file.
    static func measure(_ file: UnsafeRawBufferPointer) throws -> Int {
        var writer = Writer(output: nil)
        var slices: [Range<Int>?] = []
        return try walk(file, 0..<file.count, .model, &writer, &slices)
    }

    /// Writes the stripped file into `output` (exactly ``measure(_:)`` bytes) and returns the slices.
    static func strip(_ file: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws -> Result {
        var writer = Writer(output: output)
        var slices: [Range<Int>?] = []
        let count = try walk(file, 0..<file.count, .model, &writer, &slices)
        precondition(count == output.count && writer.position == output.count, "stripped size changed between passes")
        return Result(strippedCount: count, rawData: slices)
    }

    /// Walks one message in `range`; returns its stripped size and, when `writer` has an output, writes it.
    private static func walk(_ file: UnsafeRawBufferPointer, _ range: Range<Int>, _ level: Level,
                             _ writer: inout Writer, _ slices: inout [Range<Int>?]) throws -> Int {
        var position = range.lowerBound
        var size = 0
        var rawData: Range<Int>?
        var rawField: Range<Int>?
        var external = false
        var sawGraph = false
        while position < range.upperBound {
            let fieldStart = position
            let key = try varint(file, &position, range.upperBound)
            let field = key >> 3
            let payload: Range<Int>
            switch key & 7 {
            case 0:
                let value = try varint(file, &position, range.upperBound)
                if level == .tensor, field == 14 { external = value == 1 }
                payload = position..<position
            case 1, 5:
                let width = key & 7 == 1 ? 8 : 4
                guard range.upperBound - position >= width else { throw truncated() }
                position += width
                payload = position..<position
            case 2:
                let length = try varint(file, &position, range.upperBound)
                guard length <= UInt64(range.upperBound - position) else { throw truncated() }
                payload = position..<(position + Int(length))
                position = payload.upperBound
            default:
                throw InferenceError.malformed("the model is not a valid protobuf message (truncated or corrupt)")
            }
            let isLength = key & 7 == 2
            switch (level, field, isLength) {
            case (.model, 7, true):
                guard !sawGraph else { throw InferenceError.malformed("the model has more than one graph field; re-export it") }
                sawGraph = true
                size += try nested(file, key, payload, .graph, &writer, &slices)
            case (.graph, 5, true):
                size += try nested(file, key, payload, .tensor, &writer, &slices)
            case (.tensor, 9, true):
                rawData = payload   // the last occurrence wins, as in protobuf
                rawField = fieldStart..<position
            default:
                writer.copy(file, fieldStart..<position)
                size += position - fieldStart
            }
        }
        guard level == .tensor else { return size }
        if let raw = rawData, let field = rawField {
            if raw.isEmpty || external {
                // Left in place: empty raw data, or a tensor that says its data is external (refused later).
                writer.copy(file, field)
                size += field.count
                slices.append(nil)
            } else {
                writer.bytes([0x70, UInt8(strippedLocation)])   // field 14 (data_location), varint
                size += 2
                slices.append(raw)
            }
        } else {
            slices.append(nil)
        }
        return size
    }

    /// A length-delimited sub-message, rewritten with its stripped length.
    private static func nested(_ file: UnsafeRawBufferPointer, _ key: UInt64, _ payload: Range<Int>, _ level: Level,
                               _ writer: inout Writer, _ slices: inout [Range<Int>?]) throws -> Int {
        var measuring = Writer(output: nil)
        var ignored: [Range<Int>?] = []
        let inner = writer.output == nil ? try walk(file, payload, level, &writer, &slices)
                                         : try walk(file, payload, level, &measuring, &ignored)
        if writer.output != nil {
            writer.varint(key)
            writer.varint(UInt64(inner))
            _ = try walk(file, payload, level, &writer, &slices)
        }
        return varintSize(key) + varintSize(UInt64(inner)) + inner
    }

    private static func varint(_ file: UnsafeRawBufferPointer, _ position: inout Int, _ end: Int) throws -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < end, shift < 64 else { throw truncated() }
            let byte = file[position]
            position += 1
            value |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
    }

    private static func varintSize(_ value: UInt64) -> Int {
        var value = value
        var size = 1
        while value >= 0x80 { value >>= 7; size += 1 }
        return size
    }

    private static func truncated() -> InferenceError {
        InferenceError.malformed("the model is not a valid protobuf message (truncated or corrupt)")
    }

    /// Appends to the output buffer, or only counts when there is none.
    private struct Writer {
        let output: UnsafeMutableRawBufferPointer?
        var position = 0

        mutating func copy(_ file: UnsafeRawBufferPointer, _ range: Range<Int>) {
            guard let output else { return }
            precondition(range.count <= output.count - position, "stripped output overflow")
            UnsafeMutableRawBufferPointer(rebasing: output[position..<(position + range.count)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: file[range]))
            position += range.count
        }

        mutating func bytes(_ values: [UInt8]) {
            guard let output else { return }
            precondition(values.count <= output.count - position, "stripped output overflow")
            for value in values { output[position] = value; position += 1 }
        }

        mutating func varint(_ value: UInt64) {
            var value = value
            var encoded: [UInt8] = []
            while value >= 0x80 { encoded.append(UInt8(value & 0x7f) | 0x80); value >>= 7 }
            encoded.append(UInt8(value))
            bytes(encoded)
        }
    }
}
