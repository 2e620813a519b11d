import EnclavaCrypto
import EnclavaWire
import Foundation
import Testing
@testable import EnclaveRuntime

/// The in-place reader of decrypted payloads: it finds what SwiftProtobuf finds in every payload the client
/// library encodes, and refuses each kind of malformed input with its own code, at every cut of a payload.
@Suite struct InferPayloadReaderTests {
    static func read(_ bytes: [UInt8], keep: Int = 64) -> Result<InferPayloadReader.Contents, PayloadFormatError> {
        bytes.withUnsafeBytes { raw in Result { () throws(PayloadFormatError) in try InferPayloadReader.read(raw, keepTexts: keep) } }
    }

    static func texts(_ bytes: [UInt8], _ contents: InferPayloadReader.Contents) -> [String] {
        contents.texts.map { String(decoding: bytes[$0], as: UTF8.self) }
    }

    static let samples: [[String]] = [[], ["hello"], ["", "a", ""], ["Wire transfer of $9,950", "naïve café 北京 😀", String(repeating: "x", count: 300)]]

    @Test(arguments: samples)
    func findsWhatSwiftProtobufFinds(texts: [String]) throws {
        var payload = Enclava_V1_InferPayload()
        payload.texts = texts
        let bytes: [UInt8] = try payload.serializedBytes()
        let contents = try Self.read(bytes).get()
        #expect(Self.texts(bytes, contents) == texts)
        #expect(contents.textCount == texts.count && contents.firstInputName == nil)

        payload.inputs["zeta"] = floatPayload().inputs["x"]
        payload.inputs["alpha"] = floatPayload().inputs["x"]
        // Unknown fields of every accepted wire type are skipped, as protobuf requires.
        let extended: [UInt8] = try payload.serializedBytes() + [0x18, 0x96, 0x01, 0x21, 1, 2, 3, 4, 5, 6, 7, 8,
                                                                   0x2A, 0x02, 0x61, 0x62, 0x35, 1, 2, 3, 4]
        let withInputs = try Self.read(extended).get()
        #expect(Self.texts(extended, withInputs) == texts)
        #expect(withInputs.firstInputName == "alpha")
        #expect(try Enclava_V1_InferPayload(serializedBytes: extended).texts == texts)
    }

    /// Every cut of a valid payload is either a valid payload (cut between fields) or refused as truncated.
    @Test func everyTruncationIsRefusedOrAPrefix() throws {
        var payload = Enclava_V1_InferPayload()
        payload.texts = ["first text", "zweiter Text é", String(repeating: "long ", count: 40)]
        payload.inputs["x"] = floatPayload().inputs["x"]
        let bytes: [UInt8] = try payload.serializedBytes()
        for cut in 0..<bytes.count {
            switch Self.read(Array(bytes[0..<cut])) {
            case .success(let contents):
                #expect(payload.texts.starts(with: Self.texts(bytes, contents)), "cut \(cut)")
            case .failure(let error):
                #expect([.truncatedVarint, .pastEnd].contains(error.code), "cut \(cut): \(error.code)")
            }
        }
    }

    static let malformed: [(bytes: [UInt8], code: PayloadFormatError.Code, offset: Int)] = [
        ([0x12], .truncatedVarint, 1),                                   // texts with no length
        ([0x12, 0x05, 0x61], .pastEnd, 1),                               // length past the end
        ([0x00], .invalidFieldNumber, 0),                                // field 0
        ([0x10, 0x01], .wrongWireType, 0),                               // texts as a varint
        ([0x0D, 1, 2, 3, 4], .wrongWireType, 0),                         // inputs as fixed32
        ([0x1B], .unsupportedWireType, 0),                               // unknown group
        ([0x1E], .unsupportedWireType, 0),                               // wire type 6
        ([0x12, 0x02, 0xC3, 0x28], .invalidUTF8, 2),                     // broken two-byte sequence
        ([0x12, 0x03, 0xED, 0xA0, 0x80], .invalidUTF8, 2),               // a surrogate
        ([0x12, 0x02, 0xC0, 0xAF], .invalidUTF8, 2),                     // overlong '/'
        ([0x18] + [UInt8](repeating: 0xFF, count: 9) + [0x02], .overlongVarint, 1),  // overflows 64 bits
        ([0x18] + [UInt8](repeating: 0x80, count: 10) + [0x00], .overlongVarint, 1), // 11 bytes
        ([0x80, 0x80, 0x80, 0x80, 0x10], .overlongVarint, 0),            // tag beyond 32 bits
        ([0x19, 1, 2, 3], .pastEnd, 0),                                  // fixed64 cut short
        ([0x0A, 0x02, 0x0A, 0x05], .pastEnd, 3),                         // input name past its entry
        ([0x0A, 0x03, 0x0A, 0x01, 0xFF], .invalidUTF8, 2),               // input name not UTF-8
        ([0x0A, 0x03, 0x12, 0x01, 0x0B], .unsupportedWireType, 4),       // a group inside the tensor
        ([0x0A, 0x02, 0x10, 0x01], .wrongWireType, 2),                   // tensor as a varint
    ]

    @Test(arguments: malformed)
    func eachMalformationHasItsOwnCode(bytes: [UInt8], code: PayloadFormatError.Code, offset: Int) {
        switch Self.read(bytes) {
        case .success(let contents):
            Issue.record("accepted \(bytes): \(contents)")
        case .failure(let error):
            #expect(error.code == code)
            #expect(error.offset == offset)
            #expect(error.message.hasPrefix("the decrypted request is not an enclava.v1.InferPayload: "))
        }
    }

    /// A payload of 100 000 empty texts keeps only the ranges the limit needs, and counts the rest.
    @Test func keptTextsAreBoundedAndTheRestCounted() throws {
        let bytes = (0..<200_000).map { UInt8($0 % 2 == 0 ? 0x12 : 0x00) }
        let contents = try Self.read(bytes, keep: 9).get()
        #expect(contents.texts.count == 9)
        #expect(contents.textCount == 100_000)
        let prepared = InferenceJob.prepare(SecureBytes(bytes), limits: TensorLimits(), textLimits: TextPipelineTests.limits)
        #expect(TextPipelineTests.refusal(prepared)?.reason == RuntimeReason.invalidArgument)
        guard case .refused(let info) = prepared else { return }
        #expect(info.message.contains("the request has 100000 texts"))
    }

    /// A text that is not UTF-8 is refused by name, for text and tensor images alike.
    @Test func aTextThatIsNotUTF8IsRefusedByName() {
        let bytes: [UInt8] = [0x12, 0x02, 0x6F, 0x6B, 0x12, 0x02, 0xC3, 0x28]
        for textLimits in [TextPipelineTests.limits, nil] {
            let prepared = InferenceJob.prepare(SecureBytes(bytes), limits: TensorLimits(), textLimits: textLimits)
            #expect(TextPipelineTests.refusal(prepared)?.reason == RuntimeReason.malformedPayload)
            #expect(TextPipelineTests.refusal(prepared)?.input == "texts[1]")
        }
    }
}
