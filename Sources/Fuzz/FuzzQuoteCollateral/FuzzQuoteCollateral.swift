import EnclavaAttestation
import FuzzSupport
import Foundation

/// Real inputs the harness combines with the fuzzed bytes, read once from `../shared` (or `$ENCLAVA_SHARED`);
/// empty when absent, which only shortens the path the harness reaches.
enum Samples {
    static let folder = (ProcessInfo.processInfo.environment["ENCLAVA_SHARED"] ?? "../shared") + "/testdata/attestation/tdx/"

    static func bytes(_ name: String) -> [UInt8] {
        (try? Data(contentsOf: URL(fileURLWithPath: folder + name))).map(Array.init) ?? []
    }

    static let issuerChain = String(decoding: bytes("go-tdx-guest/tcb-info-issuer-chain.EXTRACTED.pem"), as: UTF8.self)
    static let pckCRL = bytes("go-tdx-guest/pckcrl")
    static let rootCRL = bytes("go-tdx-guest/rootcrl.der")
    static let quote = bytes("dcap-qvl/tdx_quote")
}

/// libFuzzer entry for Intel collateral (untrusted JSON from PCS/PCCS or the host): the input as dcap-qvl
/// collateral JSON, and as a PCS TCB Info / QE Identity response (the hand-written signed-JSON scanner); any
/// collateral that parses is used to verify a real TDX quote, so the TCB Info / QE Identity parsers and the
/// TCB evaluation run on it. Built only by `make fuzz` (ENCLAVA_FUZZ=1, `-sanitize=fuzzer -parse-as-library`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzQuoteCollateral(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = FuzzDriver.bytes(data, size)
    var parsed: [QuoteCollateral] = []
    if let collateral = try? QuoteCollateral(dcapQVLJSON: bytes) { parsed.append(collateral) }
    if let collateral = try? QuoteCollateral(
        tcbInfoResponse: bytes, qeIdentityResponse: bytes, tcbInfoIssuerChainPEM: Samples.issuerChain,
        pckCRL: Samples.pckCRL, rootCRL: Samples.rootCRL)
    {
        parsed.append(collateral)
    }
    for collateral in parsed {
        _ = try? EvidenceVerifier().verifyTDX(quote: Samples.quote, collateral: collateral, at: Date(timeIntervalSince1970: 1_750_377_600))
    }
    return 0
}

/// `main` for libFuzzer (see ``FuzzDriver/run(_:_:_:)``).
@_cdecl("FuzzQuoteCollateral_main")
public func fuzzQuoteCollateralMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzDriver.run(argc, argv, fuzzQuoteCollateral)
}
