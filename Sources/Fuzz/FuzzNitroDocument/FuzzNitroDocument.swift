import EnclavaAttestation
import FuzzSupport
import Foundation

/// libFuzzer entry for AWS Nitro attestation documents: the strict CBOR decoder on the raw input, then the
/// COSE_Sign1 and document parsers, then — for anything that parses — the full verification (chain to the
/// pinned AWS root at the document's own time, ES384 signature). Any trap is a bug; errors are expected.
/// Built only by `make fuzz` (ENCLAVA_FUZZ=1, `-sanitize=fuzzer -parse-as-library`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNitroDocument(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = FuzzDriver.bytes(data, size)
    if let value = try? CBORDecoder.decode(bytes, structure: "fuzz input") {
        _ = value.typeName
    }
    _ = try? COSESign1(parsing: bytes)
    if let document = try? NitroAttestationDocument(parsing: bytes) {
        _ = document.isDebug
        _ = try? EvidenceVerifier().verifyNitro(document: bytes, at: document.date)
    }
    return 0
}

/// `main` for libFuzzer (see ``FuzzDriver/run(_:_:_:)``).
@_cdecl("FuzzNitroDocument_main")
public func fuzzNitroDocumentMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzDriver.run(argc, argv, fuzzNitroDocument)
}
