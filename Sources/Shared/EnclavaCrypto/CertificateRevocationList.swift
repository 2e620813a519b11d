import Foundation
internal import COpenSSL

/// A parsed X.509 certificate revocation list (RFC 5280 §5). Parsing checks only the encoding; use
/// ``verify(issuer:at:)`` to check who signed it and whether it is current, and
/// ``CertificateChain/verify(leaf:intermediates:trustAnchors:crls:at:)`` to check a chain against it.
public struct CertificateRevocationList: Sendable, Equatable, CustomStringConvertible {
    let crl: CRLBox
    /// The CRL's DER encoding, exactly as parsed.
    public let derRepresentation: [UInt8]

    /// Parses one DER CRL (no trailing bytes allowed).
    /// - Throws: ``CryptoError`` `.certificateInvalid`.
    public init(derRepresentation der: [UInt8]) throws {
        OpenSSLErrors.clear()
        guard let crl = DER.decode(der, { d2i_X509_CRL(nil, $0, $1) }) else {
            throw CryptoError.openSSL(.certificateInvalid, "the \(der.count) bytes are not one DER X.509 CRL")
        }
        self.crl = CRLBox(taking: crl)
        derRepresentation = der
    }

    /// Parses PEM text holding one "X509 CRL" block.
    /// - Throws: ``CryptoError`` `.certificateInvalid`.
    public init(pem: String) throws {
        OpenSSLErrors.clear()
        guard let crl = MemoryBIO.withReader(Array(pem.utf8), { PEM_read_bio_X509_CRL($0, nil, nil, nil) }) else {
            throw CryptoError.openSSL(.certificateInvalid, "the text holds no PEM \"X509 CRL\" block")
        }
        let box = CRLBox(taking: crl)
        guard let der = DER.encode({ i2d_X509_CRL(crl, $0) }) else {
            throw CryptoError.openSSL(.certificateInvalid, "the CRL cannot be DER-encoded")
        }
        self.crl = box
        derRepresentation = der
    }

    /// The issuer as one-line RFC 2253 text.
    public var issuer: String { Certificate.nameText(X509_CRL_get_issuer(crl.pointer)) }

    /// When this CRL was issued.
    public var thisUpdate: Date { Certificate.date(X509_CRL_get0_lastUpdate(crl.pointer)) }

    /// When the next CRL is due (nil if the CRL does not say).
    public var nextUpdate: Date? {
        guard let time = X509_CRL_get0_nextUpdate(crl.pointer) else { return nil }
        return Certificate.date(time)
    }

    /// Serial numbers of the revoked certificates, big-endian without leading zeros.
    public var revokedSerialNumbers: [[UInt8]] {
        guard let stack = X509_CRL_get_REVOKED(crl.pointer) else { return [] }
        let count = OPENSSL_sk_num(stack)
        guard count > 0 else { return [] }
        return (0..<count).compactMap { index -> [UInt8]? in
            guard let raw = OPENSSL_sk_value(stack, index) else { return nil }
            let entry = OpaquePointer(raw)
            guard let serial = X509_REVOKED_get0_serialNumber(entry), let bn = ASN1_INTEGER_to_BN(serial, nil) else {
                return nil
            }
            defer { BN_free(bn) }
            let bytes = BigNumber.bytes(bn)
            return bytes.isEmpty ? [0] : bytes
        }
    }

    /// True when this CRL was issued by `certificate`'s issuer and lists its serial number.
    public func isRevoked(_ certificate: Certificate) -> Bool {
        guard X509_NAME_cmp(X509_CRL_get_issuer(crl.pointer), X509_get_issuer_name(certificate.x509.pointer)) == 0 else {
            return false
        }
        let serial = certificate.serialNumber
        return revokedSerialNumbers.contains(serial)
    }

    /// True when `issuer` is named as this CRL's issuer and its key made the CRL's signature.
    public func isSignedBy(_ issuer: Certificate) -> Bool {
        guard X509_NAME_cmp(X509_CRL_get_issuer(crl.pointer), X509_get_subject_name(issuer.x509.pointer)) == 0,
              let key = X509_get0_pubkey(issuer.x509.pointer) else { return false }
        let valid = X509_CRL_verify(crl.pointer, key) == 1
        OpenSSLErrors.clear()
        return valid
    }

    /// Checks that `issuer` signed this CRL and that it is current at `time` (thisUpdate ≤ time ≤ nextUpdate).
    /// - Throws: ``CryptoError`` `.chainInvalid` naming the CRL issuer and the failing check.
    public func verify(issuer: Certificate, at time: Date) throws {
        guard isSignedBy(issuer) else {
            throw CryptoError(.chainInvalid, "the CRL issued by \"\(self.issuer)\" is not signed by \"\(issuer.subject)\"; fetch the CRL from that CA again")
        }
        guard thisUpdate <= time else {
            throw CryptoError(.chainInvalid, "the CRL issued by \"\(self.issuer)\" is not valid until \(thisUpdate), after the verification time \(time)")
        }
        if let nextUpdate, time > nextUpdate {
            throw CryptoError(.chainInvalid, "the CRL issued by \"\(self.issuer)\" expired at \(nextUpdate), before the verification time \(time); fetch a current CRL")
        }
    }

    /// Describes the CRL by issuer, dates and number of entries.
    public var description: String {
        "CertificateRevocationList(issuer: \(issuer), thisUpdate: \(thisUpdate), nextUpdate: \(nextUpdate.map { "\($0)" } ?? "none"), entries: \(revokedSerialNumbers.count))"
    }

    /// CRLs are equal when their DER encodings are.
    public static func == (lhs: CertificateRevocationList, rhs: CertificateRevocationList) -> Bool {
        lhs.derRepresentation == rhs.derRepresentation
    }
}

/// Owns an OpenSSL `X509_CRL`. CRLs are never mutated after parsing, so the box is shared between threads.
final class CRLBox: @unchecked Sendable {
    let pointer: OpaquePointer

    init(taking pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit { X509_CRL_free(pointer) }
}
