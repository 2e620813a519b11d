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
        let parts: [(String, Bool)] = [
            ("TCB Info", tcbInfo.isEmpty), ("TCB Info signature", tcbInfoSignature.isEmpty),
            ("TCB Info issuer chain", tcbInfoIssuerChain.isEmpty), ("QE Identity", qeIdentity.isEmpty),
            ("QE Identity signature", qeIdentitySignature.isEmpty), ("QE Identity issuer chain", qeIdentityIssuerChain.isEmpty),
        ]
        let missing = parts.filter(\.1).map(\.0)
        guard missing.isEmpty else {
            throw AttestationError.collateralMissing(
                missing, "the collateral is partial: it lacks the " + missing.joined(separator: ", ")
                    + ", and every part is needed to prove the quoting enclave's identity and the platform's TCB")
        }
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
            throw AttestationError.collateralMissing(
                ["\(document) issuer chain"], "the \(document) issuer chain is empty, so its signer is unknown")
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

extension QuoteCollateral {
    /// Checks what can be checked without a quote, as `enclava collateral import` does before caching: the
    /// TCB Info and QE Identity signatures and issuer chains, the Root CA CRL, and the document ids, at `time`
    /// (default: the later of the two documents' `issueDate`, so that saved responses check whatever their age).
    /// The PCK CRL's signer comes with a quote; it is checked when the collateral is used.
    /// - Parameter roots: the roots to accept (Intel's; simulated ones for simulator collateral).
    /// - Returns: what the collateral is for.
    /// - Throws: ``AttestationError`` naming the document that does not check.
    public func checkSignatures(at time: Date? = nil, roots: [Certificate] = IntelRootCertificates.all) throws
        -> QuoteCollateralCache.Entry
    {
        let entry = try QuoteCollateralCache.describe(self)
        var when = time
        if when == nil {
            struct Dates: Decodable { let issueDate: String }
            let dates = [tcbInfo, qeIdentity].compactMap { try? JSONDecoder().decode(Dates.self, from: Data($0)) }
            when = dates.compactMap { IntelTimestamp.parse($0.issueDate) }.max()
        }
        _ = try verified(
            tcbInfoID: entry.kind.tcbInfoID, qeIdentityID: entry.kind.qeIdentityID, trustAnchors: roots,
            at: when ?? Date())
        return entry
    }
}
