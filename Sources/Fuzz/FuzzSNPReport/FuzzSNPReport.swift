import EnclavaAttestation
import FuzzSupport
import Foundation

/// libFuzzer entry for SEV-SNP attestation reports: the certificate-table parser (GUID entries with offsets and
/// lengths) and the report parser on the input, then for any report that parses the verifier's SNP path (which
/// must refuse it without certificates, never trap).
/// Built only by `make fuzz` (ENCLAVA_FUZZ=1, `-sanitize=fuzzer -parse-as-library`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSNPReport(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = FuzzDriver.bytes(data, size)
    if let table = try? SNPCertificates(certificateTable: bytes) { _ = table.certificateTable() }
    guard let report = try? SNPReport(parsing: bytes) else { return 0 }
    _ = report.serialized()
    let evidence = Evidence(platform: .sevSNP, blob: bytes, certificates: [])
    let policy = AttestationPolicy(allowedPlatforms: [.sevSNP], allowSimulation: true, allowDebug: true)
    _ = try? EvidenceVerifier().verify(
        evidence, nonce: [UInt8](repeating: 1, count: 32), manifestDigest: [UInt8](repeating: 2, count: 48),
        hpkePublicKey: [UInt8](repeating: 3, count: 32), policy: policy, at: Date(timeIntervalSince1970: 1_700_000_000))
    return 0
}

/// `main` for libFuzzer (see ``FuzzDriver/run(_:_:_:)``).
@_cdecl("FuzzSNPReport_main")
public func fuzzSNPReportMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzDriver.run(argc, argv, fuzzSNPReport)
}
