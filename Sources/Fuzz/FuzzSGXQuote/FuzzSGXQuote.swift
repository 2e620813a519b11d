import EnclavaAttestation
import Foundation

/// libFuzzer entry for Intel SGX DCAP quotes (v3): the quote parser, then for anything that parses the full
/// quote verification (PCK chain to the Intel root, QE report, attestation-key signature).
/// Built only by `make fuzz` (ENCLAVA_FUZZ=1, `-sanitize=fuzzer -parse-as-library`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSGXQuote(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    guard (try? SGXQuote(parsing: bytes)) != nil else { return 0 }
    _ = try? EvidenceVerifier().verifySGX(quote: bytes, at: Date(timeIntervalSince1970: 1_730_000_000))
    return 0
}

/// SwiftPM links a debug executable with `main` renamed to `FuzzSGXQuote_main`; this entry hands control to libFuzzer's
/// driver, exactly as libFuzzer's own `main` would (same arguments: corpus folders, `-max_total_time`, …).
@_cdecl("FuzzSGXQuote_main")
public func fuzzSGXQuoteMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments, fuzzSGXQuote)
}

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt
