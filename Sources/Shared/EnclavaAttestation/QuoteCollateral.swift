import EnclavaCrypto
import Foundation

/// Intel's verification collateral for a DCAP quote, **not yet verified**: TCB Info and QE Identity
/// (each the exact signed JSON bytes, its ECDSA P-256 signature and its issuer chain), the PCK CRL (from
/// the PCK Platform or Processor CA) and the Intel SGX Root CA CRL.
/// ``EvidenceVerifier/verifyTDX(quote:collateral:at:)`` checks all of it against the pinned Intel root.
public struct QuoteCollateral: Sendable, Equatable {
    /// Largest collateral document we read.
    static let maxDocumentBytes = 1 << 20

    /// The exact bytes of the TCB Info JSON object that Intel signed.
    public var tcbInfo: [UInt8]
    /// Raw `r ‖ s` (64 bytes) ECDSA P-256 signature over ``tcbInfo``.
    public var tcbInfoSignature: [UInt8]
    /// "Intel SGX TCB Signing" and the root, signer first.
    public var tcbInfoIssuerChain: [Certificate]
    /// The exact bytes of the QE Identity JSON object that Intel signed.
    public var qeIdentity: [UInt8]
    /// Raw `r ‖ s` ECDSA P-256 signature over ``qeIdentity``.
    public var qeIdentitySignature: [UInt8]
    /// The QE Identity signer chain, signer first.
    public var qeIdentityIssuerChain: [Certificate]
    /// CRL of the PCK CA that issued the PCK certificate.
    public var pckCRL: CertificateRevocationList
    /// CRL of the Intel SGX Root CA.
    public var rootCRL: CertificateRevocationList

    /// Collateral from its parts.
    public init(
        tcbInfo: [UInt8], tcbInfoSignature: [UInt8], tcbInfoIssuerChain: [Certificate], qeIdentity: [UInt8],
        qeIdentitySignature: [UInt8], qeIdentityIssuerChain: [Certificate], pckCRL: CertificateRevocationList,
        rootCRL: CertificateRevocationList
    ) {
        self.tcbInfo = tcbInfo
        self.tcbInfoSignature = tcbInfoSignature
        self.tcbInfoIssuerChain = tcbInfoIssuerChain
        self.qeIdentity = qeIdentity
        self.qeIdentitySignature = qeIdentitySignature
        self.qeIdentityIssuerChain = qeIdentityIssuerChain
        self.pckCRL = pckCRL
        self.rootCRL = rootCRL
    }

    /// Collateral from Intel PCS (or PCCS) responses as served: the TCB Info body
    /// (`{"tcbInfo":{…},"signature":"…"}`), the QE Identity body (`{"enclaveIdentity":{…},"signature":"…"}`),
    /// the `TCB-Info-Issuer-Chain` header (URL-decoded PEM, also used for the QE Identity when
    /// `qeIdentityIssuerChainPEM` is nil) and the two CRLs (DER or PEM).
    /// - Throws: ``AttestationError`` `COLLATERAL_INVALID` naming the document that does not parse.
    public init(
        tcbInfoResponse: [UInt8], qeIdentityResponse: [UInt8], tcbInfoIssuerChainPEM: String,
        qeIdentityIssuerChainPEM: String? = nil, pckCRL: [UInt8], rootCRL: [UInt8]
    ) throws {
        let (tcbInfo, tcbSignature) = try Self.signedMember("tcbInfo", of: tcbInfoResponse, document: "TCB Info")
        let (qeIdentity, qeSignature) = try Self.signedMember(
            "enclaveIdentity", of: qeIdentityResponse, document: "QE Identity")
        let tcbChain = try Self.chain(tcbInfoIssuerChainPEM, document: "TCB Info issuer chain")
        self.init(
            tcbInfo: tcbInfo, tcbInfoSignature: tcbSignature, tcbInfoIssuerChain: tcbChain, qeIdentity: qeIdentity,
            qeIdentitySignature: qeSignature,
            qeIdentityIssuerChain: try qeIdentityIssuerChainPEM.map { try Self.chain($0, document: "QE Identity issuer chain") }
                ?? tcbChain,
            pckCRL: try Self.crl(pckCRL, document: "PCK CRL"), rootCRL: try Self.crl(rootCRL, document: "Root CA CRL"))
    }

    /// The keys of the dcap-qvl JSON layout this reader needs, and the document each belongs to.
    static let dcapQVLKeys: [(key: String, part: String)] = [
        ("tcb_info", "TCB Info"), ("tcb_info_signature", "TCB Info signature"),
        ("tcb_info_issuer_chain", "TCB Info issuer chain"), ("qe_identity", "QE Identity"),
        ("qe_identity_signature", "QE Identity signature"), ("qe_identity_issuer_chain", "QE Identity issuer chain"),
        ("pck_crl", "PCK CRL"), ("root_ca_crl", "Root CA CRL"),
    ]

    /// Collateral in the JSON layout of Phala's dcap-qvl `QuoteCollateralV3`: PEM issuer chains, hex CRLs,
    /// the signed JSON documents as strings and hex signatures.
    /// - Throws: ``AttestationError`` `COLLATERAL_MISSING` naming every key that is absent or empty (partial
    ///   collateral), `COLLATERAL_INVALID` when a part does not parse.
    public init(dcapQVLJSON data: [UInt8]) throws {
        guard data.count <= Self.maxDocumentBytes,
              let object = try? JSONSerialization.jsonObject(with: Data(data)) as? [String: Any]
        else { throw AttestationError.collateral("collateral", "the collateral is not a JSON object") }
        let missing = Self.dcapQVLKeys.filter { ((object[$0.key] as? String) ?? "").isEmpty }
        guard missing.isEmpty else {
            throw AttestationError.collateralMissing(
                missing.map { "\($0.part) (`\($0.key)`)" },
                "the collateral is partial: it lacks " + missing.map { "`\($0.key)`" }.joined(separator: ", ")
                    + ", and every part is needed to prove the quoting enclave's identity and the platform's TCB")
        }
        func text(_ key: String) -> String { (object[key] as? String) ?? "" }  // present and non-empty: checked above
        func hex(_ key: String) throws -> [UInt8] {
            guard let bytes = Hex.decode(text(key)) else {
                throw AttestationError.collateral(key, "`\(key)` in the collateral JSON is not hex")
            }
            return bytes
        }
        self.init(
            tcbInfo: Array(text("tcb_info").utf8), tcbInfoSignature: try hex("tcb_info_signature"),
            tcbInfoIssuerChain: try Self.chain(text("tcb_info_issuer_chain"), document: "tcb_info_issuer_chain"),
            qeIdentity: Array(text("qe_identity").utf8), qeIdentitySignature: try hex("qe_identity_signature"),
            qeIdentityIssuerChain: try Self.chain(text("qe_identity_issuer_chain"), document: "qe_identity_issuer_chain"),
            pckCRL: try Self.crl(try hex("pck_crl"), document: "pck_crl"),
            rootCRL: try Self.crl(try hex("root_ca_crl"), document: "root_ca_crl"))
    }

    /// The raw bytes of `member` and the hex `signature` of a PCS response.
    static func signedMember(_ member: String, of response: [UInt8], document: String) throws -> ([UInt8], [UInt8]) {
        guard response.count <= maxDocumentBytes, let body = SignedJSON.rawValue(of: member, in: response),
              body.first == UInt8(ascii: "{")
        else { throw AttestationError.collateral(document, "the \(document) response has no `\(member)` object") }
        guard let quoted = SignedJSON.rawValue(of: "signature", in: response), quoted.count >= 2,
              quoted.first == UInt8(ascii: "\""), quoted.last == UInt8(ascii: "\""),
              let signature = Hex.decode(String(decoding: quoted.dropFirst().dropLast(), as: UTF8.self))
        else { throw AttestationError.collateral(document, "the \(document) response has no hex `signature`") }
        return (body, signature)
    }

    static func chain(_ pem: String, document: String) throws -> [Certificate] {
        do {
            return try Certificate.parseChain(pem: pem)
        } catch {
            throw AttestationError.collateral(document, "the \(document) is not PEM certificates (\(error))")
        }
    }

    static func crl(_ bytes: [UInt8], document: String) throws -> CertificateRevocationList {
        do {
            if bytes.starts(with: Array("-----BEGIN".utf8)) {
                return try CertificateRevocationList(pem: String(decoding: bytes, as: UTF8.self))
            }
            return try CertificateRevocationList(derRepresentation: bytes)
        } catch {
            throw AttestationError.collateral(document, "the \(document) is not an X.509 CRL (\(error))")
        }
    }
}
