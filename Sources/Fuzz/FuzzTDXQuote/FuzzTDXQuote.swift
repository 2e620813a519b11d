import EnclavaAttestation
import Foundation

/// libFuzzer entry for Intel TDX quotes (v4, v5): the quote parser, then for anything that parses the full
/// quote verification (PCK chain from the quote's certification data to the Intel root, QE report, signature).
/// Built only by `make fuzz` (ENCLAVA_FUZZ=1, `-sanitize=fuzzer -parse-as-library`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTDXQuote(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    guard (try? TDXQuote(parsing: bytes)) != nil else { return 0 }
    _ = try? EvidenceVerifier().verifyTDX(quote: bytes, at: Date(timeIntervalSince1970: 1_730_000_000))
    return 0
}

/// SwiftPM links a debug executable with `main` renamed to `FuzzTDXQuote_main`; this entry hands control to libFuzzer's
/// driver, exactly as libFuzzer's own `main` would (same arguments: corpus folders, `-max_total_time`, …).
@_cdecl("FuzzTDXQuote_main")
public func fuzzTDXQuoteMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments, fuzzTDXQuote)
}

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt
