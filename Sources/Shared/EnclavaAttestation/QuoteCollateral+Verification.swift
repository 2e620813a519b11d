import EnclavaCrypto
import Foundation

/// Collateral whose signatures, issuer chains, CRLs and validity windows have been checked.
struct VerifiedCollateral: Sendable {
    let tcbInfo: TCBInfo
    let qeIdentity: QEIdentity
    let pckCRL: CertificateRevocationList
    let rootCRL: CertificateRevocationList
}

extension QuoteCollateral {
    /// Checks the collateral at `time` against `trustAnchors` (the Intel root): the Root CA CRL, then for
    /// TCB Info and QE Identity the issuer chain (with the Root CA CRL), the signature over the exact JSON
    /// bytes, the document's id and version, and its issue/next-update window.
    /// - Parameters:
    ///   - tcbInfoID: `TDX` or `SGX`.
    ///   - qeIdentityID: `TD_QE` or `QE`.
    func verified(
        tcbInfoID: String, qeIdentityID: String, trustAnchors: [Certificate], at time: Date
    ) throws -> VerifiedCollateral {
        guard let root = trustAnchors.first(where: { rootCRL.isSignedBy($0) }) else {
            throw AttestationError.collateral(
                "root_ca_crl", expected: "signed by the Intel SGX Root CA", actual: rootCRL.issuer,
                "the Root CA CRL is not signed by a trusted Intel root; fetch it from Intel PCS")
        }
        do {
            try rootCRL.verify(issuer: root, at: time)
        } catch {
            throw AttestationError.collateral("root_ca_crl", "\(error); fetch a current Root CA CRL from Intel PCS")
        }
        let tcbBytes = try Self.checkSigned(
            tcbInfo, signature: tcbInfoSignature, chain: tcbInfoIssuerChain, document: "TCB Info",
            trustAnchors: trustAnchors, rootCRL: rootCRL, at: time)
        let qeBytes = try Self.checkSigned(
            qeIdentity, signature: qeIdentitySignature, chain: qeIdentityIssuerChain, document: "QE Identity",
            trustAnchors: trustAnchors, rootCRL: rootCRL, at: time)
        let info: TCBInfo = try Self.decode(tcbBytes, document: "TCB Info")
        let identity: QEIdentity = try Self.decode(qeBytes, document: "QE Identity")
        guard info.version == 3, info.id == tcbInfoID else {
            throw AttestationError.collateral(
                "TCB Info id", expected: "\(tcbInfoID) version 3", actual: "\(info.id ?? "none") version \(info.version)",
                "the TCB Info is for another platform kind or version; fetch the \(tcbInfoID) TCB Info v3 for this FMSPC")
        }
        guard identity.version == 2, identity.id == qeIdentityID else {
            throw AttestationError.collateral(
                "QE Identity id", expected: "\(qeIdentityID) version 2", actual: "\(identity.id) version \(identity.version)",
                "the QE Identity is for another quoting enclave; fetch the \(qeIdentityID) identity")
        }
        try Self.checkWindow(issue: info.issueDate, next: info.nextUpdate, document: "TCB Info", at: time)
        try Self.checkWindow(issue: identity.issueDate, next: identity.nextUpdate, document: "QE Identity", at: time)
        return VerifiedCollateral(tcbInfo: info, qeIdentity: identity, pckCRL: pckCRL, rootCRL: rootCRL)
    }

    private static func checkSigned(
        _ bytes: [UInt8], signature: [UInt8], chain: [Certificate], document: String, trustAnchors: [Certificate],
        rootCRL: CertificateRevocationList, at time: Date
    ) throws -> [UInt8] {
        guard let signer = chain.first else {
            throw AttestationError.collateral("\(document) issuer chain", "the \(document) issuer chain is empty")
        }
        if rootCRL.isRevoked(signer) {
            throw AttestationError.revoked(signer.subject, serial: signer.serialNumber, crlIssuer: rootCRL.issuer)
        }
        do {
            try CertificateChain.verify(
                leaf: signer, intermediates: Array(chain.dropFirst()), trustAnchors: trustAnchors, crls: [rootCRL], at: time)
        } catch {
            throw AttestationError(
                .certificateChainInvalid, field: "\(document) issuer chain",
                "the \(document) signer does not chain to the Intel SGX Root CA at the verification time: \(error)")
        }
        guard signature.count == 64, let key = try? ECDSAPublicKey(spkiDER: signer.subjectPublicKeyInfoDER),
              key.curve == .p256,
              let parsed = try? ECDSASignature(r: Array(signature[0..<32]), s: Array(signature[32..<64]), curve: .p256),
              key.isValidSignature(parsed, for: bytes, digest: .sha256)
        else {
            throw AttestationError(
                .signatureInvalid, field: "\(document) signature",
                "the \(document) signature does not verify under \"\(signer.subject)\"; the collateral was altered")
        }
        return bytes
    }

    private static func decode<T: Decodable>(_ bytes: [UInt8], document: String) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch {
            throw AttestationError.collateral(document, "the signed \(document) is not the JSON Intel publishes (\(error))")
        }
    }

    private static func checkWindow(issue: String, next: String, document: String, at time: Date) throws {
        guard let issued = IntelTimestamp.parse(issue), let nextUpdate = IntelTimestamp.parse(next) else {
            throw AttestationError.collateral("\(document) dates", "the \(document) dates are not RFC 3339")
        }
        guard issued <= time, time <= nextUpdate else {
            throw AttestationError.collateral(
                "\(document) nextUpdate", expected: "\(issue) … \(next)", actual: "\(time)",
                "the \(document) is not valid at the verification time; fetch current collateral from Intel PCS")
        }
    }
}
