import EnclavaAttestation
import EnclavaClient
import Foundation
import FuzzSupport

/// libFuzzer entry for the JSON the CLI reads: the input as a tensor (`enclava infer --input NAME=JSON`,
/// ``TensorJSON/tensor(fromJSON:)``) — a tensor that parses is printed as `enclava infer` prints outputs, and
/// what is printed must read back as the same tensor — and as an attestation policy file (the decoding of
/// ``AttestationPolicy/load(path:)``) — a policy that decodes must encode (as `policy create` writes it) and
/// decode back to itself.
/// Built only by `make fuzz` (ENCLAVA_FUZZ=1, `-sanitize=fuzzer -parse-as-library`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCLIJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = FuzzDriver.bytes(data, size)
    let text = String(decoding: bytes, as: UTF8.self)
    if let tensor = try? TensorJSON.tensor(fromJSON: text) {
        let printed = TensorJSON.encode(tensor)
        do {
            let again = try TensorJSON.tensor(fromJSON: printed)
            precondition(again == tensor, "the printed tensor \(printed.prefix(200)) reads back differently")
        } catch {
            fatalError("the printed tensor \(printed.prefix(200)) does not read back: \(error)")
        }
        _ = try? TensorJSON.parseInput("x=" + text)
    }
    if let policy = try? JSONDecoder().decode(AttestationPolicy.self, from: Data(bytes)) {
        do {
            let again = try JSONDecoder().decode(AttestationPolicy.self, from: JSONEncoder().encode(policy))
            precondition(again == policy, "the policy does not survive encoding")
        } catch {
            fatalError("a decoded policy does not encode and decode again: \(error)")
        }
    }
    return 0
}

/// Writes seed inputs (tensors in each form the CLI documents, a policy with every key) into `folder`.
private func writeSeeds(_ folder: String) throws {
    let tensors = [
        "[[0.1, 0.2, 0.3]]",
        "{\"dtype\": \"int64\", \"shape\": [2, 2], \"data\": [[1, 2], [3, -4]]}",
        "{\"dtype\": \"bool\", \"data\": [true, false, true]}",
        "{\"dtype\": \"int32\", \"shape\": [0], \"data\": []}",
        "{\"dtype\": \"float32\", \"shape\": [1, 2], \"data\": [3.4028235e38, -1e-45]}",
    ]
    for (index, json) in tensors.enumerated() {
        try Data(json.utf8).write(to: URL(fileURLWithPath: "\(folder)/tensor-\(index).json"))
    }
    var policy = AttestationPolicy(allowedPlatforms: [.sevSNP, .tdx, .sgx], allowSimulation: true, allowDebug: false,
                                   expectedMeasurements: [String(repeating: "ab", count: 48)],
                                   expectedManifestDigests: [String(repeating: "cd", count: 48)],
                                   simulatedRootFingerprints: [String(repeating: "ef", count: 32)])
    policy.expectedMRTD = [String(repeating: "01", count: 48)]
    policy.expectedRTMRs = ["0": [String(repeating: "02", count: 48)], "3": [String(repeating: "03", count: 48)]]
    policy.expectedMREnclave = [String(repeating: "04", count: 32)]
    policy.expectedMRSigner = [String(repeating: "05", count: 32)]
    policy.expectedPCRs = ["0": [String(repeating: "06", count: 48)]]
    policy.minimumTCB = try MinimumTCB(parsing: "bootloader=3,tee=0,snp=8,microcode=115")
    policy.allowedTCBStatuses = [.upToDate]
    policy.requireTCBStatus = true
    try policy.write(to: "\(folder)/policy-full.json")
    try AttestationPolicy().write(to: "\(folder)/policy-default.json")
}

/// `main` for libFuzzer (see ``FuzzDriver/run(_:_:_:)``); with `ENCLAVA_FUZZ_WRITE_SEEDS=<folder>` it writes
/// its seed inputs there instead.
@_cdecl("FuzzCLIJSON_main")
public func fuzzCLIJSONMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    if let folder = FuzzDriver.seedFolder {
        do { try writeSeeds(folder) } catch { fatalError("cannot write seeds: \(error)") }
        return 0
    }
    return FuzzDriver.run(argc, argv, fuzzCLIJSON)
}
