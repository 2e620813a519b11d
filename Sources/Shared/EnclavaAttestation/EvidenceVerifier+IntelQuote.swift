import EnclavaCrypto
import Foundation

/// The checks an SGX quote v3 and a TDX quote v4/v5 share, in the order of evidence-formats.md §2:
/// header, attestation-key signature, QE report binding, QE report signature, PCK chain to the Intel root,
/// then — only with complete collateral — the chain again with the PCK and Root CA CRLs, the QE Identity and
/// the TCB Info.
struct CheckedIntelQuoteSignature: Sendable {
    /// The PCK leaf and its SGX extension.
    let pck: PCKCertificate
    /// The root the chain was verified to.
    let root: Certificate
    /// The TCB status from the verified collateral.
    let tcb: TCBEvaluation
}

extension EvidenceVerifier {
    static func verifyIntelQuote(
        header: QuoteHeader, signedBytes: [UInt8], signatureData sig: QuoteSignatureData, tdReport: TDReportBody?,
        collateral relayed: QuoteCollateral?, client: IntelCollateralSource, trustAnchors: [Certificate], at time: Date
    ) throws -> CheckedIntelQuoteSignature {
        guard header.attestationKeyType == QuoteHeader.ecdsaP256KeyType else {
            throw AttestationError(
                .malformedEvidence, field: "header.att_key_type", expected: "2 (ECDSA P-256)",
                actual: "\(header.attestationKeyType)", "only ECDSA P-256 attestation keys are supported")
        }
        guard header.qeVendorID == QuoteHeader.intelQEVendorID else {
            throw AttestationError(
                .malformedEvidence, field: "header.qe_vendor_id", expected: Hex.encode(QuoteHeader.intelQEVendorID),
                actual: Hex.encode(header.qeVendorID), "the quote was not made by Intel's quoting enclave")
        }
        // 1. The quote signature with the attestation key.
        guard let attestationKey = try? ECDSAPublicKey(
            curve: .p256, x: Array(sig.attestationKey[0..<32]), y: Array(sig.attestationKey[32..<64]))
        else {
            throw AttestationError(
                .signatureInvalid, field: "attestation_key", actual: Hex.encode(sig.attestationKey),
                "the quote's attestation key is not a P-256 point; the quote is corrupt")
        }
        guard isValidRawSignature(sig.signature, by: attestationKey, over: signedBytes) else {
            throw AttestationError(
                .signatureInvalid, field: "quote signature",
                "the quote signature does not verify under its attestation key: the header or report body was "
                    + "altered — do not trust this enclave")
        }
        // 2. The QE report binds the attestation key and the QE auth data.
        let binding = SHA2.sha256(sig.attestationKey + sig.qeAuthData) + [UInt8](repeating: 0, count: 32)
        guard constantTimeEquals(binding, sig.qeReport.reportData) else {
            throw AttestationError.qeReportBinding(expected: binding, actual: sig.qeReport.reportData)
        }
        // 3. The QE report signature with the PCK key.
        let chain = try sig.parsePCKChain()
        let leaf = chain[0]
        guard let pckKey = try? ECDSAPublicKey(spkiDER: leaf.subjectPublicKeyInfoDER), pckKey.curve == .p256 else {
            throw AttestationError(
                .certificateChainInvalid, field: "PCK certificate", actual: leaf.subject,
                "the first certificate of the quote's chain must be a PCK certificate with a P-256 key")
        }
        guard isValidRawSignature(sig.qeReportSignature, by: pckKey, over: sig.qeReport.rawBytes) else {
            throw AttestationError(
                .signatureInvalid, field: "QE report signature",
                "the QE report signature does not verify under the PCK certificate \"\(leaf.subject)\"; the QE "
                    + "report or the certificate was altered")
        }
        // 4. The PCK chain to the pinned Intel root.
        _ = try verifyPCKChain(chain, collateral: nil, trustAnchors: trustAnchors, at: time)
        // 5. Complete collateral — the client's, else the host's — or a refusal: without it the QE's identity is
        // unproven (a host-run quoting enclave certified by the genuine PCK passes steps 1–4).
        let kind: IntelQuoteKind = tdReport == nil ? .sgx : .tdx
        let collateral = try client.resolve(kind: kind, fmspc: (try? PCKCertificate(leaf))?.fmspc, relayed: relayed)
        let verified = try collateral.verified(
            tcbInfoID: kind.tcbInfoID, qeIdentityID: kind.qeIdentityID, trustAnchors: trustAnchors, at: time)
        // 6. The chain again, with the PCK and Root CA CRLs.
        let root = try verifyPCKChain(chain, collateral: verified, trustAnchors: trustAnchors, at: time)
        // 7–8. QE Identity and TCB Info.
        let pck = try PCKCertificate(leaf)
        let tcb = try TCBEvaluation.evaluate(verified, pck: pck, qeReport: sig.qeReport, tdReport: tdReport)
        return CheckedIntelQuoteSignature(pck: pck, root: root, tcb: tcb)
    }

    /// Verifies `chain` (leaf first) to one of `trustAnchors`; returns the anchor.
    static func verifyPCKChain(
        _ chain: [Certificate], collateral: VerifiedCollateral?, trustAnchors: [Certificate], at time: Date
    ) throws -> Certificate {
        let leaf = chain[0]
        let last = chain[chain.count - 1]
        // A self-issued certificate in the quote claims to be a root: it must be a pinned root, byte for byte.
        if last.subject == last.issuer, !trustAnchors.contains(last) {
            throw AttestationError(
                .untrustedRoot, field: "PCK chain root",
                expected: trustAnchors.map { Hex.encode($0.sha256Fingerprint) }.joined(separator: " or "),
                actual: Hex.encode(last.sha256Fingerprint),
                "the quote's PCK chain ends in \"\(last.subject)\", which is not the pinned Intel SGX Root CA; "
                    + "the quote comes from a test or forged platform")
        }
        let intermediates = chain.dropFirst().filter { $0.subject != $0.issuer }
        var crls: [CertificateRevocationList] = []
        if let collateral {
            guard collateral.pckCRL.issuer == leaf.issuer, let ca = intermediates.first(where: { $0.subject == leaf.issuer }) else {
                throw AttestationError.collateral(
                    "pck_crl", expected: leaf.issuer, actual: collateral.pckCRL.issuer,
                    "the PCK CRL is from another CA than the one that issued the PCK certificate; fetch the CRL "
                        + "of \"\(leaf.issuer)\"")
            }
            do {
                try collateral.pckCRL.verify(issuer: ca, at: time)
            } catch {
                throw AttestationError.collateral("pck_crl", "\(error)")
            }
            crls = [collateral.pckCRL, collateral.rootCRL]
            for certificate in chain {
                if let crl = crls.first(where: { $0.isRevoked(certificate) }) {
                    throw AttestationError.revoked(certificate.subject, serial: certificate.serialNumber, crlIssuer: crl.issuer)
                }
            }
        }
        do {
            try CertificateChain.verify(
                leaf: leaf, intermediates: Array(intermediates), trustAnchors: trustAnchors, crls: crls, at: time)
        } catch {
            throw AttestationError(
                .certificateChainInvalid, field: "PCK chain",
                "the quote's PCK chain does not verify to the Intel SGX Root CA: \(error)")
        }
        guard let root = trustAnchors.first(where: { $0.subject == (intermediates.last ?? leaf).issuer }) else {
            throw AttestationError(.untrustedRoot, field: "PCK chain root", "the PCK chain's root is not pinned")
        }
        return root
    }

    /// An ECDSA P-256 / SHA-256 signature in raw `r ‖ s` form (64 bytes).
    static func isValidRawSignature(_ raw: [UInt8], by key: ECDSAPublicKey, over message: [UInt8]) -> Bool {
        guard raw.count == 64,
              let signature = try? ECDSASignature(r: Array(raw[0..<32]), s: Array(raw[32..<64]), curve: .p256)
        else { return false }
        return key.isValidSignature(signature, for: message, digest: .sha256)
    }
}
