import EnclavaAttestation
import FuzzSupport
import Foundation

/// libFuzzer entry for Intel TDX quotes (v4, v5): the quote parser, then for anything that parses the full
/// quote verification (PCK chain from the quote's certification data to the Intel root, QE report, signature).
/// Built only by `make fuzz` (ENCLAVA_FUZZ=1, `-sanitize=fuzzer -parse-as-library`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTDXQuote(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = FuzzDriver.bytes(data, size)
    guard (try? TDXQuote(parsing: bytes)) != nil else { return 0 }
    // Without collateral the verifier runs every quote check (signatures, QE binding, PCK chain) and then
    // refuses for the missing collateral; FuzzQuoteCollateral fuzzes the collateral checks.
    _ = try? EvidenceVerifier().verifyEvidence(
        Evidence(platform: .tdx, blob: bytes, certificates: []), policy: .hardware([.tdx]),
        at: Date(timeIntervalSince1970: 1_730_000_000))
    return 0
}

/// `main` for libFuzzer (see ``FuzzDriver/run(_:_:_:)``).
@_cdecl("FuzzTDXQuote_main")
public func fuzzTDXQuoteMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzDriver.run(argc, argv, fuzzTDXQuote)
}
