import EnclavaAttestation
import Foundation

/// libFuzzer entry for SEV-SNP attestation reports: the certificate-table parser (GUID entries with offsets and
/// lengths) and the report parser on the input, then for any report that parses the verifier's SNP path (which
/// must refuse it without certificates, never trap).
/// Built only by `make fuzz` (ENCLAVA_FUZZ=1, `-sanitize=fuzzer -parse-as-library`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSNPReport(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
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

/// SwiftPM links a debug executable with `main` renamed to `FuzzSNPReport_main`; this entry hands control to libFuzzer's
/// driver, exactly as libFuzzer's own `main` would (same arguments: corpus folders, `-max_total_time`, …).
@_cdecl("FuzzSNPReport_main")
public func fuzzSNPReportMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments, fuzzSNPReport)
}

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt
