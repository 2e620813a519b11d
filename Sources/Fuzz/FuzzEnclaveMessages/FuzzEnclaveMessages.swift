import EnclavaClient
import EnclavaWire
import EnclaveRuntime
import Foundation
import FuzzSupport
import SwiftProtobuf

/// The enclava.v1 messages, in the order of byte 0 of an input (taken modulo their count).
private let messageTypes: [any SwiftProtobuf.Message.Type] = [
    Enclava_V1_GetEvidenceRequest.self, Enclava_V1_OpenSessionRequest.self, Enclava_V1_InferRequest.self,
    Enclava_V1_ProvisionKeyRequest.self, Enclava_V1_HealthRequest.self, Enclava_V1_ShutdownRequest.self,
    Enclava_V1_InferPayload.self, Enclava_V1_InferResult.self,
    Enclava_V1_GetEvidenceResponse.self, Enclava_V1_OpenSessionResponse.self, Enclava_V1_InferResponse.self,
    Enclava_V1_HealthResponse.self, Enclava_V1_ProvisionKeyResponse.self,
]

/// libFuzzer entry for every enclava.v1 message: byte 0 picks the message (the six requests the enclave
/// parses — `ProvisionKeyRequest` among them —, the decrypted `InferPayload` and `InferResult`, and the five
/// responses the client and `enclava provision` parse), the
/// rest is its protobuf encoding. An `InferPayload` body also goes through the enclave's in-place reader
/// (``InferPayloadReader``), which must agree with SwiftProtobuf where both accept it. A message that parses must serialize and parse back to itself. An
/// `InferPayload` then goes through the enclave's tensor checks and conversion
/// (``TensorConversion/hostInputs(_:limits:)``, default and tight limits) and each accepted tensor back to
/// the wire; an `InferResult` goes through what the CLI prints (``TensorJSON``).
/// Built only by `make fuzz` (ENCLAVA_FUZZ=1, `-sanitize=fuzzer -parse-as-library`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEnclaveMessages(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = FuzzDriver.bytes(data, size)
    guard let selector = bytes.first else { return 0 }
    let body = Array(bytes.dropFirst())
    let type = messageTypes[Int(selector) % messageTypes.count]
    if type is Enclava_V1_InferPayload.Type { readInPlace(body) }
    guard let message = try? type.init(serializedBytes: body) else { return 0 }
    roundTrip(message)
    if let payload = message as? Enclava_V1_InferPayload { convert(payload) }
    if let result = message as? Enclava_V1_InferResult { show(result) }
    return 0
}

/// The enclave's in-place reader of decrypted payloads (a text pipeline's texts never reach SwiftProtobuf):
/// whatever it accepts that SwiftProtobuf also parses has the same texts and the same first input name.
private func readInPlace(_ body: [UInt8]) {
    let read = body.withUnsafeBytes { raw in
        Result { () throws(PayloadFormatError) in try InferPayloadReader.read(raw, keepTexts: 4) }
    }
    guard case .success(let contents) = read else { return }
    precondition(contents.texts.count == min(contents.textCount, 4), "the reader kept the wrong number of texts")
    guard let parsed = try? Enclava_V1_InferPayload(serializedBytes: body) else { return }
    precondition(contents.textCount == parsed.texts.count, "the reader counted \(contents.textCount) texts, SwiftProtobuf \(parsed.texts.count)")
    for (range, text) in zip(contents.texts, parsed.texts) {
        precondition(body[range].elementsEqual(text.utf8), "the reader found another text than SwiftProtobuf")
    }
    precondition(contents.firstInputName == parsed.inputs.keys.min(), "the reader found another first input name")
}

/// A parsed message serializes, and parses back equal.
private func roundTrip(_ message: any SwiftProtobuf.Message) {
    do {
        let encoded: [UInt8] = try message.serializedBytes()
        let again = try type(of: message).init(serializedBytes: encoded)
        precondition(again.isEqualTo(message: message), "\(type(of: message)) does not survive a round trip")
    } catch {
        fatalError("a parsed \(type(of: message)) does not serialize and parse again: \(error)")
    }
}

/// The enclave's tensor path for a decrypted payload: validation and conversion, then back to the wire.
private func convert(_ payload: Enclava_V1_InferPayload) {
    _ = payload.texts.reduce(0) { $0 + $1.utf8.count }
    for limits in [TensorLimits(), TensorLimits(maxInputs: 2, maxRank: 3, maxElements: 64, maxNameBytes: 8)] {
        guard let inputs = try? TensorConversion.hostInputs(payload.inputs, limits: limits) else { continue }
        for (name, tensor) in inputs {
            precondition(tensor.shape.reduce(1, *) <= limits.maxElements, "input \(name) passed over the element cap")
            let wire = TensorConversion.wireTensor(tensor)
            precondition(wire.data == payload.inputs[name]!.data, "input \(name) changed its bytes in conversion")
        }
    }
}

/// What `enclava infer` prints for a decrypted result.
private func show(_ result: Enclava_V1_InferResult) {
    _ = TensorJSON.encode(result.outputs)
    for tensor in result.outputs.values {
        _ = TensorJSON.values(of: tensor)
        _ = TensorJSON.floats(of: tensor)
        _ = TensorJSON.nonFiniteCount(of: tensor)
    }
    if result.hasError { _ = result.error.message }
}

/// Writes seed inputs (byte 0 + a real message from the encoders) into `folder`.
private func writeSeeds(_ folder: String) throws {
    func tensor(_ dtype: Enclava_V1_DataType, _ shape: [Int64], _ data: [UInt8]) -> Enclava_V1_Tensor {
        var tensor = Enclava_V1_Tensor()
        tensor.dtype = dtype
        tensor.shape = shape
        tensor.data = Data(data)
        return tensor
    }
    var evidence = Enclava_V1_GetEvidenceRequest()
    evidence.nonce = Data(repeating: 0x11, count: 32)
    var open = Enclava_V1_OpenSessionRequest()
    open.enc = Data(repeating: 0x22, count: 32)
    open.evidenceDigest = Data(repeating: 0x33, count: 48)
    var infer = Enclava_V1_InferRequest()
    infer.sessionID = Data(repeating: 0x44, count: 16)
    infer.sequence = 3
    infer.ciphertext = Data(repeating: 0x55, count: 80)
    var provision = Enclava_V1_ProvisionKeyRequest()
    provision.enc = Data(repeating: 0x66, count: 32)
    provision.sealedKey = Data(repeating: 0x77, count: 48)
    provision.evidenceDigest = Data(repeating: 0x88, count: 48)
    var payload = Enclava_V1_InferPayload()
    let fraud: [Float] = [42.5, 13.0, 0.12, 3.2, 720.0, 2.0, 0.0, 1.0]
    payload.inputs["input"] = tensor(.float32, [1, 8], fraud.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) })
    payload.inputs["ids"] = tensor(.int64, [1, 2], Array(repeating: 1, count: 16))
    var texts = Enclava_V1_InferPayload()
    texts.texts = ["The quick brown fox jumps over the lazy dog.", "Enclava runs models inside TEEs."]
    var result = Enclava_V1_InferResult()
    result.outputs["probability"] = tensor(.float32, [1, 1], [0, 0, 0x80, 0x3F])
    result.outputs["mask"] = tensor(.bool, [2], [1, 0])
    var refused = Enclava_V1_InferResult()
    refused.error.message = "input `x`: rank 9 exceeds 8"
    var evidenceResponse = Enclava_V1_GetEvidenceResponse()
    evidenceResponse.format = .sevSnp
    evidenceResponse.evidence = Data(repeating: 0x99, count: 64)
    evidenceResponse.certificates = [Data(repeating: 0x30, count: 16)]
    evidenceResponse.backend = "sim"
    var health = Enclava_V1_HealthResponse()
    health.modelName = "fraud-detector"
    health.state = .waitingForKey
    var provisioned = Enclava_V1_ProvisionKeyResponse()
    provisioned.state = .ready
    provisioned.modelName = "fraud-detector"
    let seeds: [(Int, any SwiftProtobuf.Message)] = [
        (0, evidence), (1, open), (2, infer), (3, provision), (4, Enclava_V1_HealthRequest()),
        (5, Enclava_V1_ShutdownRequest()), (6, payload), (6, texts), (7, result), (7, refused),
        (8, evidenceResponse), (11, health), (12, provisioned),
    ]
    for (index, (selector, message)) in seeds.enumerated() {
        let bytes: [UInt8] = [UInt8(selector)] + (try message.serializedBytes() as [UInt8])
        try Data(bytes).write(to: URL(fileURLWithPath: "\(folder)/message-\(index).bin"))
    }
}

/// `main` for libFuzzer (see ``FuzzDriver/run(_:_:_:)``); with `ENCLAVA_FUZZ_WRITE_SEEDS=<folder>` it writes
/// its seed inputs there instead.
@_cdecl("FuzzEnclaveMessages_main")
public func fuzzEnclaveMessagesMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    if let folder = FuzzDriver.seedFolder {
        do { try writeSeeds(folder) } catch { fatalError("cannot write seeds: \(error)") }
        return 0
    }
    return FuzzDriver.run(argc, argv, fuzzEnclaveMessages)
}
