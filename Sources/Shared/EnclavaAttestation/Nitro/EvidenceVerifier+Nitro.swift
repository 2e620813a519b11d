import EnclavaCrypto
import Foundation

/// AWS Nitro Enclaves evidence.
///
/// **Design (DESIGN.md §3 addition).** An Enclava enclave on Nitro asks the NSM for an attestation document
/// with `user_data` = the same 64 bytes it would put in SEV-SNP `REPORT_DATA`:
/// `SHA-256("enclava-evidence-v1" ‖ nonce ‖ manifest_digest) ‖ X25519 HPKE public key` (``ReportData``).
/// The HPKE key is therefore bound through `user_data[32..<64]`, **not** through the document's
/// `public_key` field, which stays free for its AWS use (AWS KMS encrypts `Recipient` responses to an RSA
/// `public_key`) and is ignored by Enclava; `nonce` is not used either (freshness comes from the binding,
/// as on the other platforms). So one ``ReportData`` layout and one binding check
/// (``verify(_:nonce:manifestDigest:hpkePublicKey:policy:at:)``) serve every platform. The measurement a
/// policy's `expected_measurements` pins is PCR0 (the enclave image file's SHA-384 measurement, as
/// `nitro-cli describe-eif` prints it); `expected_pcrs` pins others (PCR1 kernel, PCR2 application, PCR8
/// signing certificate). A document whose PCR0 is all zeros comes from a debug-mode enclave and is refused
/// unless the policy sets `allow_debug`.
///
/// `Evidence.blob` is the COSE_Sign1 document as the NSM returns it; `Evidence.certificates` is not used
/// (the chain is inside the document).
extension EvidenceVerifier {
    /// Verifies an AWS Nitro Enclaves attestation document at `time`, without any policy:
    /// 1. parse (strict CBOR, COSE_Sign1 with ES384, AWS's field rules — ``NitroAttestationDocument``);
    /// 2. `cabundle[0]` must be the pinned AWS Nitro Enclaves Root-G1 (by SHA-256 fingerprint);
    /// 3. the chain `certificate` ← `cabundle[n-1]` ← … ← `cabundle[1]` ← root, in that order, at `time`
    ///    (the leaf lives about three hours, so recorded documents need their own time);
    /// 4. the COSE signature: ECDSA P-384 / SHA-384 by the leaf's key over
    ///    `["Signature1", protected, h'', payload]`.
    ///
    /// The chain is checked before the signature so that a wrong certificate is reported as such (every
    /// certificate is inside the signed payload, so both checks must pass in any case).
    /// - Throws: ``AttestationError``: `malformedEvidence`, `untrustedRoot`, `certificateChainInvalid` or
    ///   `signatureInvalid`, naming the field.
    public func verifyNitro(document bytes: [UInt8], at time: Date) throws -> CheckedNitroDocument {
        try Self.verifyNitro(document: bytes, roots: NitroRootCertificates.all, at: time)
    }

    /// ``verifyNitro(document:at:)`` with explicit trust anchors (tests use a generated root).
    static func verifyNitro(document bytes: [UInt8], roots: [Certificate], at time: Date) throws -> CheckedNitroDocument {
        let document = try NitroAttestationDocument(parsing: bytes)
        let leaf = try nitroCertificate(document.certificate, field: "payload.certificate")
        let bundle = try document.caBundle.enumerated().map { index, der in
            try nitroCertificate(der, field: "payload.cabundle[\(index)]")
        }
        let fingerprint = bundle[0].sha256Fingerprint
        guard let root = roots.first(where: { $0.sha256Fingerprint == fingerprint }) else {
            throw AttestationError(
                .untrustedRoot, field: "payload.cabundle[0]",
                expected: roots.map { Hex.encode($0.sha256Fingerprint) }.joined(separator: " or "),
                actual: Hex.encode(fingerprint),
                "the document's chain starts at \"\(bundle[0].subject)\", not at the AWS Nitro Enclaves Root-G1; "
                    + "it was not made by AWS Nitro — do not trust this enclave")
        }
        let path = bundle + [leaf]
        for index in path.indices.dropFirst() where path[index].issuer != path[index - 1].subject {
            let field = index == path.count - 1 ? "payload.certificate" : "payload.cabundle[\(index)]"
            throw AttestationError(
                .certificateChainInvalid, field: field, expected: path[index - 1].subject, actual: path[index].issuer,
                "the certificate at \(field) is not issued by the one before it; `cabundle` must run from the root "
                    + "down to the leaf's issuer, in order")
        }
        do {
            try CertificateChain.verify(leaf: leaf, intermediates: Array(bundle.dropFirst()), trustAnchors: [root], at: time)
        } catch {
            throw AttestationError(
                .certificateChainInvalid, field: "payload.cabundle",
                "the document's certificate chain does not verify at \(time): \(error); the certificates are "
                    + "wrong or expired (a Nitro leaf lives about three hours — verify a recorded document at its time)")
        }
        try checkNitroSignature(document, leaf: leaf)
        return CheckedNitroDocument(document: document, leaf: leaf, root: root)
    }

    private static func nitroCertificate(_ der: [UInt8], field: String) throws -> Certificate {
        do {
            return try Certificate(derRepresentation: der)
        } catch {
            throw AttestationError(
                .malformedEvidence, field: field,
                "\(field) is not one DER X.509 certificate (\(error)); the document is corrupt")
        }
    }

    /// The COSE_Sign1 signature under the leaf's P-384 key.
    private static func checkNitroSignature(_ document: NitroAttestationDocument, leaf: Certificate) throws {
        guard let key = try? ECDSAPublicKey(spkiDER: leaf.subjectPublicKeyInfoDER), key.curve == .p384 else {
            throw AttestationError(
                .certificateChainInvalid, field: "payload.certificate", expected: "an EC P-384 key", actual: leaf.subject,
                "the leaf certificate must hold the EC P-384 key that signs the document")
        }
        let raw = document.cose.signature
        let half = COSESign1.es384SignatureByteCount / 2
        guard let signature = try? ECDSASignature(r: Array(raw[..<half]), s: Array(raw[half...]), curve: .p384),
            key.isValidSignature(signature, for: document.cose.signatureStructure, digest: .sha384)
        else {
            throw AttestationError(
                .signatureInvalid, field: "COSE_Sign1.signature",
                "the document's ES384 signature does not verify under \(leaf.subjectCommonName ?? leaf.subject); "
                    + "the document was altered or signed by another key — do not trust this enclave")
        }
    }
}
