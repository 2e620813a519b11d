import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavaAttestation

/// The real SEV-SNP evidence in `shared/testdata/attestation/sev-snp`, with the certificates and the time at
/// which each verifies (PROVENANCE.md's time where it gives one — go-sev-guest's 2022-09-24T01:00Z — else a time
/// inside the VCEK's or VLEK's validity).
struct SNPSample: CustomTestStringConvertible, Sendable {
    let file: String
    let leaf: String
    /// ASK (or ASVK) then ARK, as AMD KDS serves them.
    let chain: String
    let time: Date
    let version: UInt32
    let signingKey: SNPReport.SigningKey
    let isDebug: Bool
    let product: String
    var testDescription: String { file }

    static let all: [SNPSample] = [
        SNPSample(file: "go-sev-guest/attestation.bin", leaf: "go-sev-guest/vcek.testcer", chain: "go-sev-guest/ask_ark_milan.pem",
                  time: TestData.date("2022-09-24T01:00:00Z"), version: 2, signingKey: .vcek, isDebug: true, product: "Milan"),
        SNPSample(file: "trustee/test-report.bin", leaf: "trustee/test-vcek.der", chain: "go-sev-guest/ask_ark_milan.pem",
                  time: TestData.date("2024-01-01T00:00:00Z"), version: 2, signingKey: .vcek, isDebug: false, product: "Milan"),
        SNPSample(file: "trustee/test-vlek-report.bin", leaf: "trustee/test-vlek.der", chain: "go-sev-guest/ask_ark_milan_vlek.pem",
                  time: TestData.date("2025-06-01T00:00:00Z"), version: 3, signingKey: .vlek, isDebug: false, product: "Milan"),
        SNPSample(file: "trustee/evidence.report.DERIVED.bin", leaf: "trustee/evidence.vcek.DERIVED.der", chain: "go-sev-guest/ask_ark_genoa.pem",
                  time: TestData.date("2025-06-01T00:00:00Z"), version: 3, signingKey: .vcek, isDebug: false, product: "Genoa"),
        SNPSample(file: "teekit-gcp/sev-gcp.bin", leaf: "teekit-gcp/sev-gcp-vcek.pem", chain: "teekit-gcp/sev-gcp-cert-chain.pem",
                  time: TestData.date("2026-01-01T00:00:00Z"), version: 5, signingKey: .vcek, isDebug: false, product: "Milan"),
        SNPSample(file: "teekit-gcp/sev-gcp-reportdata.bin", leaf: "teekit-gcp/sev-gcp-vcek.pem", chain: "teekit-gcp/sev-gcp-cert-chain.pem",
                  time: TestData.date("2026-01-01T00:00:00Z"), version: 5, signingKey: .vcek, isDebug: false, product: "Milan"),
        SNPSample(file: "teekit-gcp/sev-gcp-x25519-bound.bin", leaf: "teekit-gcp/sev-gcp-x25519-vcek.pem", chain: "teekit-gcp/sev-gcp-cert-chain.pem",
                  time: TestData.date("2026-01-01T00:00:00Z"), version: 5, signingKey: .vcek, isDebug: false, product: "Milan"),
        SNPSample(file: "virtee-sev/report_milan.hex", leaf: "virtee-sev/vcek_milan.der", chain: "go-sev-guest/ask_ark_milan.pem",
                  time: TestData.date("2024-01-01T00:00:00Z"), version: 2, signingKey: .vcek, isDebug: false, product: "Milan"),
    ]

    func blob() throws -> [UInt8] { try TestData.bytes(file) }
    func leafCertificate() throws -> Certificate { try TestData.certificate(leaf) }
    func chainCertificates() throws -> [Certificate] { try TestData.chain(chain) }

    /// The evidence with its full chain, leaf first.
    func evidence() throws -> Evidence {
        Evidence(
            platform: .sevSNP, blob: try blob(),
            certificates: [try leafCertificate().derRepresentation] + (try chainCertificates()).map(\.derRepresentation))
    }

    /// A policy that accepts this sample (debug allowed for the debug one).
    var policy: AttestationPolicy {
        var policy = AttestationPolicy.hardware([.sevSNP])
        policy.allowDebug = isDebug
        return policy
    }
}

/// Runs `body` and returns the AttestationError it throws, or nil.
func refusal(_ body: () throws -> Void) -> AttestationError? {
    do {
        try body()
        return nil
    } catch let error as AttestationError {
        return error
    } catch {
        return AttestationError(.malformedEvidence, field: "NOT AN AttestationError", "\(error)")
    }
}
