import EnclaveInference

/// Reads a decrypted `enclava.v1.InferPayload` (`map<string, Tensor> inputs = 1; repeated string texts = 2;`)
/// where it lies, without SwiftProtobuf: each text becomes a byte range inside the locked plaintext, never a
/// Swift `String` (DESIGN.md §5). The wire format is protobuf's, unchanged.
///
/// Strict and bounded: every tag, varint and length is checked against the bytes that remain, each text must
/// be well-formed UTF-8 (as protobuf requires of `string`), `inputs` entries must be well-formed messages, and
/// at most `keepTexts` ranges are kept (the rest are only counted, so a payload of a million empty texts
/// costs no memory). Unknown fields are skipped by wire type; groups (wire types 3 and 4) and the undefined
/// wire types 6 and 7 are refused. Each malformation is its own ``PayloadFormatError``.
public struct InferPayloadReader {
    /// What a payload holds.
    public struct Contents: Equatable, Sendable {
        /// The first `keepTexts` texts, as ranges of the payload.
        public var texts: [Range<Int>] = []
        /// All texts in the payload.
        public var textCount = 0
        /// The alphabetically first name in `inputs`, when there are any (a text pipeline refuses tensors
        /// naming it; names are the client's labels, not its data).
        public var firstInputName: String?
    }

    /// Reads `payload`.
    /// - Parameter keepTexts: how many text ranges to keep (the pipeline's `max_texts`; one more shows it
    ///   was exceeded, and ``Contents/textCount`` says by how much).
    /// - Throws: ``PayloadFormatError`` naming what is malformed and where.
    public static func read(_ payload: UnsafeRawBufferPointer, keepTexts: Int) throws(PayloadFormatError) -> Contents {
        var contents = Contents()
        var cursor = ProtobufCursor(payload, range: 0..<payload.count)
        while let (number, wireType, at) = try cursor.nextField() {
            switch number {
            case 1:
                guard wireType == ProtobufCursor.lengthDelimited else {
                    throw PayloadFormatError(.wrongWireType, at: at, "field 1 (`inputs`) has wire type \(wireType); a map entry "
                                             + "is length-delimited (2)")
                }
                let name = try readInputEntry(payload, range: try cursor.lengthDelimited())
                if contents.firstInputName.map({ name < $0 }) ?? true { contents.firstInputName = name }
            case 2:
                guard wireType == ProtobufCursor.lengthDelimited else {
                    throw PayloadFormatError(.wrongWireType, at: at, "field 2 (`texts`) has wire type \(wireType); a string is "
                                             + "length-delimited (2)", input: "texts[\(contents.textCount)]")
                }
                let range = try cursor.lengthDelimited()
                if let bad = UTF8Scalars.firstIllFormedOffset(UnsafeRawBufferPointer(rebasing: payload[range])) {
                    throw PayloadFormatError(.invalidUTF8, at: range.lowerBound + bad,
                                             "`texts[\(contents.textCount)]` is not valid UTF-8 (byte \(bad) of the text); "
                                                 + "send texts as UTF-8", input: "texts[\(contents.textCount)]")
                }
                if contents.texts.count < keepTexts { contents.texts.append(range) }
                contents.textCount += 1
            default:
                try cursor.skip(wireType: wireType, at: at)
            }
        }
        return contents
    }

    /// One `inputs` map entry (`string key = 1; Tensor value = 2;`): its key, with the value checked to be a
    /// well-formed message.
    private static func readInputEntry(_ payload: UnsafeRawBufferPointer, range: Range<Int>) throws(PayloadFormatError) -> String {
        var cursor = ProtobufCursor(payload, range: range)
        var key = ""
        while let (number, wireType, at) = try cursor.nextField() {
            switch (number, wireType) {
            case (1, ProtobufCursor.lengthDelimited):
                let bytes = UnsafeRawBufferPointer(rebasing: payload[try cursor.lengthDelimited()])
                if let bad = UTF8Scalars.firstIllFormedOffset(bytes) {
                    throw PayloadFormatError(.invalidUTF8, at: at, "an input name is not valid UTF-8 (byte \(bad) of the name)")
                }
                key = String(decoding: bytes, as: UTF8.self)
            case (2, ProtobufCursor.lengthDelimited):
                var value = ProtobufCursor(payload, range: try cursor.lengthDelimited())
                while let (_, valueType, valueAt) = try value.nextField() { try value.skip(wireType: valueType, at: valueAt) }
            case (1, _), (2, _):
                throw PayloadFormatError(.wrongWireType, at: at, "field \(number) of an `inputs` entry has wire type \(wireType); "
                                         + "it is length-delimited (2)")
            default:
                try cursor.skip(wireType: wireType, at: at)
            }
        }
        return key
    }
}

/// Why a decrypted payload is not an `enclava.v1.InferPayload`: a stable code, the byte offset and a sentence.
public struct PayloadFormatError: Error, Equatable, Sendable {
    /// Stable codes.
    public enum Code: String, Sendable {
        /// A varint runs past the end of its message.
        case truncatedVarint = "TRUNCATED_VARINT"
        /// A varint is longer than 10 bytes or overflows 64 bits; a tag overflows 32 bits.
        case overlongVarint = "OVERLONG_VARINT"
        /// Field number 0, or above 2^29 − 1.
        case invalidFieldNumber = "INVALID_FIELD_NUMBER"
        /// Wire type 3, 4 (groups), 6 or 7.
        case unsupportedWireType = "UNSUPPORTED_WIRE_TYPE"
        /// A known field with the wrong wire type.
        case wrongWireType = "WRONG_WIRE_TYPE"
        /// A length, or a fixed-width field, runs past the end of its message.
        case pastEnd = "PAST_END"
        /// A text or input name is not well-formed UTF-8.
        case invalidUTF8 = "INVALID_UTF8"
    }

    /// What kind of malformation.
    public let code: Code
    /// Offset in the payload.
    public let offset: Int
    /// What is wrong, for the client.
    public let detail: String
    /// The offending input (`texts[i]`), when there is one.
    public let input: String?

    init(_ code: Code, at offset: Int, _ detail: String, input: String? = nil) {
        self.code = code
        self.offset = offset
        self.detail = detail
        self.input = input
    }

    /// The sentence sent back in the encrypted result.
    public var message: String {
        "the decrypted request is not an enclava.v1.InferPayload: \(detail) (at byte \(offset)); send a payload "
            + "that the enclava client library encodes"
    }
}
