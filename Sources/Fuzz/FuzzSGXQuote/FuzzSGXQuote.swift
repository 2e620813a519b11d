import EnclavaAttestation
import FuzzSupport
import Foundation

/// libFuzzer entry for Intel SGX DCAP quotes (v3): the quote parser, then for anything that parses the full
/// quote verification (PCK chain to the Intel root, QE report, attestation-key signature).
/// Built only by `make fuzz` (ENCLAVA_FUZZ=1, `-sanitize=fuzzer -parse-as-library`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSGXQuote(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = FuzzDriver.bytes(data, size)
    guard (try? SGXQuote(parsing: bytes)) != nil else { return 0 }
    // Without collateral the verifier runs every quote check (signatures, QE binding, PCK chain) and then
    // refuses for the missing collateral; FuzzQuoteCollateral fuzzes the collateral checks.
    _ = try? EvidenceVerifier().verifyEvidence(
        Evidence(platform: .sgx, blob: bytes, certificates: []), policy: .hardware([.sgx]),
        at: Date(timeIntervalSince1970: 1_730_000_000))
    return 0
}

/// `main` for libFuzzer (see ``FuzzDriver/run(_:_:_:)``).
@_cdecl("FuzzSGXQuote_main")
public func fuzzSGXQuoteMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzDriver.run(argc, argv, fuzzSGXQuote)
}
