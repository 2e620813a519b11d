import EnclavaAttestation
import EnclavaCrypto
import FuzzSupport
import Foundation

/// The TF-RMM CPAK and TF-M IAK test keys (public halves, from ../shared/testdata/attestation/arm-cca-psa), pinned
/// under the samples' instance ids so that inputs derived from the seeds reach the signature checks.
private let cpaks: [[UInt8]: ECDSAPublicKey] = {
    let cpak = """
        -----BEGIN PUBLIC KEY-----
        MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEIShnxS4rlQiwpCCpBWDzlNLfqiG911FP
        8akBr+fh94uxHU5m+Kijivp2r2oxxN6MhM4tr8mWQli1P61xh3T0ViDREbF26DGO
        EYfbAjWjGNN7pZf+6A4OTHYqEryz6m7U
        -----END PUBLIC KEY-----
        """
    let iak = """
        -----BEGIN PUBLIC KEY-----
        MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEeeupDov0UKZ1FXatRZmwet+TjaO7
        C9F9ADbtSaLQ/D+/zfqJVrVov9uGc+ZI2LWNkplVsUomwwgPNBF9lx1oZA==
        -----END PUBLIC KEY-----
        """
    var keys: [[UInt8]: ECDSAPublicKey] = [:]
    keys[Hex.decode("0107060504030201000f0e0d0c0b0a090817161514131211101f1e1d1c1b1a1918")!] = try! ECDSAPublicKey(pem: cpak)
    keys[Hex.decode("01fa58755f658627ce5460f29b75296713248cae7ad9e2984b90280efcbcb50248")!] = try! ECDSAPublicKey(pem: iak)
    return keys
}()

/// libFuzzer entry for Arm CCA and PSA tokens: the collection (tag 907 / 399), both COSE_Sign1 parts and every
/// claim parser as CCA, the single COSE_Sign1 as PSA, then — for anything that parses — the full verification
/// (pinned key by instance id, platform and realm signatures, platform challenge = hash of the RAK) and the
/// display claims. Any trap is a bug; errors are expected. Built only by `make fuzz`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCCAToken(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = FuzzDriver.bytes(data, size)
    let verifier = EvidenceVerifier()
    for platform in [EvidencePlatform.cca, .psa] {
        guard let token = try? ArmToken(parsing: bytes, psa: platform == .psa) else { continue }
        _ = token.platform.lifecycle.description
        if let checked = try? verifier.verifyArm(token: bytes, platform: platform, cpaks: cpaks) {
            _ = checked.claims
        }
    }
    return 0
}

/// `main` for libFuzzer (see ``FuzzDriver/run(_:_:_:)``).
@_cdecl("FuzzCCAToken_main")
public func fuzzCCATokenMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzDriver.run(argc, argv, fuzzCCAToken)
}
