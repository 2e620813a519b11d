import Foundation
internal import COpenSSL

/// A parsed X.509 certificate. Parsing checks only the encoding; trust comes from ``CertificateChain``.
///
/// Serial number 0 (as on AMD VCEKs) and other RFC 5280 deviations that OpenSSL accepts are accepted.
public struct Certificate: Sendable, Equatable, CustomStringConvertible {
    let x509: X509Box
    /// The certificate's DER encoding, exactly as parsed.
    public let derRepresentation: [UInt8]

    /// Parses one DER certificate (no trailing bytes allowed).
    /// - Throws: ``CryptoError`` `.certificateInvalid`.
    public init(derRepresentation der: [UInt8]) throws {
        OpenSSLErrors.clear()
        guard let x509 = DER.decode(der, { d2i_X509(nil, $0, $1) }) else {
            throw CryptoError.openSSL(.certificateInvalid, "the \(der.count) bytes are not one DER X.509 certificate")
        }
        self.x509 = X509Box(taking: x509)
        derRepresentation = der
    }

    /// Parses PEM text holding exactly one certificate.
    /// - Throws: ``CryptoError`` `.certificateInvalid`, also when the text holds several certificates
    ///   (use ``parseChain(pem:)`` for those).
    public init(pem: String) throws {
        let all = try Self.parseChain(pem: pem)
        guard all.count == 1 else {
            throw CryptoError(.certificateInvalid, "the PEM text holds \(all.count) certificates; use Certificate.parseChain(pem:)")
        }
        self = all[0]
    }

    init(taking x509: OpaquePointer) throws {
        let box = X509Box(taking: x509)
        guard let der = DER.encode({ i2d_X509(x509, $0) }) else {
            throw CryptoError.openSSL(.certificateInvalid, "the certificate cannot be DER-encoded")
        }
        self.x509 = box
        derRepresentation = der
    }

    /// Parses every "CERTIFICATE" block of PEM text, in order.
    /// - Throws: ``CryptoError`` `.certificateInvalid` when there is none, one is malformed, or the text
    ///   ends inside a block (truncated).
    public static func parseChain(pem: String) throws -> [Certificate] {
        var certificates: [Certificate] = []
        var blocks: [String] = []
        var current: [Substring]? = nil
        for line in pem.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed == "-----BEGIN CERTIFICATE-----" {
                current = [line]
            } else if trimmed == "-----END CERTIFICATE-----", var block = current {
                block.append(line)
                blocks.append(block.joined(separator: "\n") + "\n")
                current = nil
            } else if current != nil {
                current!.append(line)
            }
        }
        if current != nil {
            throw CryptoError(.certificateInvalid, "the PEM text ends inside certificate \(blocks.count + 1) (no \"-----END CERTIFICATE-----\"); it was truncated")
        }
        for (index, block) in blocks.enumerated() {
            OpenSSLErrors.clear()
            guard let x509 = MemoryBIO.withReader(Array(block.utf8), { PEM_read_bio_X509($0, nil, nil, nil) }) else {
                throw CryptoError.openSSL(.certificateInvalid, "PEM certificate \(index + 1) is malformed")
            }
            certificates.append(try Certificate(taking: x509))
        }
        guard !certificates.isEmpty else {
            throw CryptoError(.certificateInvalid, "no \"-----BEGIN CERTIFICATE-----\" block found in the PEM text")
        }
        return certificates
    }

    /// PEM text ("CERTIFICATE").
    public var pemRepresentation: String {
        MemoryBIO.withWriter { PEM_write_bio_X509($0, x509.pointer) == 1 } ?? ""
    }

    /// The subject as one-line RFC 2253 text, e.g. `CN=SEV-VCEK,O=Advanced Micro Devices,…`.
    public var subject: String { Self.nameText(X509_get_subject_name(x509.pointer)) }

    /// The issuer as one-line RFC 2253 text.
    public var issuer: String { Self.nameText(X509_get_issuer_name(x509.pointer)) }

    /// The subject's first common name, if any.
    public var subjectCommonName: String? {
        guard let name = X509_get_subject_name(x509.pointer) else { return nil }
        let index = X509_NAME_get_index_by_NID(name, NID_commonName, -1)
        guard index >= 0, let entry = X509_NAME_get_entry(name, index), let data = X509_NAME_ENTRY_get_data(entry) else { return nil }
        var utf8: UnsafeMutablePointer<UInt8>?
        let length = ASN1_STRING_to_UTF8(&utf8, data)
        guard length >= 0, let utf8 else { return nil }
        defer { enclava_ossl_free(utf8) }
        return String(decoding: UnsafeBufferPointer(start: utf8, count: Int(length)), as: UTF8.self)
    }

    /// The serial number, big-endian magnitude without leading zeros (`[0]` for serial 0).
    public var serialNumber: [UInt8] {
        guard let serial = X509_get0_serialNumber(x509.pointer), let bn = ASN1_INTEGER_to_BN(serial, nil) else { return [0] }
        defer { BN_free(bn) }
        let bytes = BigNumber.bytes(bn)
        return bytes.isEmpty ? [0] : bytes
    }

    /// Start of the validity period.
    public var notBefore: Date { Self.date(X509_get0_notBefore(x509.pointer)) }

    /// End of the validity period.
    public var notAfter: Date { Self.date(X509_get0_notAfter(x509.pointer)) }

    /// The DER SubjectPublicKeyInfo.
    public var subjectPublicKeyInfoDER: [UInt8] {
        guard let key = X509_get_X509_PUBKEY(x509.pointer) else { return [] }
        return DER.encode { i2d_X509_PUBKEY(key, $0) } ?? []
    }

    /// SHA-256 over the DER encoding.
    public var sha256Fingerprint: [UInt8] { SHA2.sha256(derRepresentation) }

    /// True when the certificate is self-issued and its signature verifies under its own key.
    public var isSelfSigned: Bool {
        let result = X509_self_signed(x509.pointer, 1) == 1
        OpenSSLErrors.clear()
        return result
    }

    /// Describes the certificate by subject, issuer and validity.
    public var description: String {
        "Certificate(subject: \(subject), issuer: \(issuer), valid \(notBefore)…\(notAfter))"
    }

    /// Certificates are equal when their DER encodings are.
    public static func == (lhs: Certificate, rhs: Certificate) -> Bool {
        lhs.derRepresentation == rhs.derRepresentation
    }

    static func nameText(_ name: OpaquePointer?) -> String {
        guard let name else { return "" }
        return MemoryBIO.withWriter { X509_NAME_print_ex($0, name, 0, enclava_ossl_xn_flag_rfc2253()) >= 0 } ?? ""
    }

    static func date(_ time: UnsafePointer<ASN1_TIME>?) -> Date {
        guard let time else { return .distantPast }
        var components = tm()
        guard ASN1_TIME_to_tm(time, &components) == 1 else { return .distantPast }
        return Date(timeIntervalSince1970: TimeInterval(timegm(&components)))
    }
}

/// Owns an OpenSSL `X509`. Certificates are never mutated after parsing; OpenSSL 3 guards its lazily
/// computed extension cache with a lock, so the box is shared freely between threads.
final class X509Box: @unchecked Sendable {
    let pointer: OpaquePointer

    init(taking pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit { X509_free(pointer) }
}
