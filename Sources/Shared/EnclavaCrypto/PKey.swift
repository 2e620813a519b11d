internal import COpenSSL

/// Owns an OpenSSL `EVP_PKEY`. Keys are immutable once built, and OpenSSL 3 allows concurrent use of an
/// `EVP_PKEY` for signing and verification, so the box is shared freely between threads.
final class PKey: @unchecked Sendable {
    let pointer: OpaquePointer

    /// Takes ownership of `pointer`.
    init(taking pointer: OpaquePointer) {
        self.pointer = pointer
    }

    deinit { EVP_PKEY_free(pointer) }

    /// OpenSSL's base key type (EVP_PKEY_EC, EVP_PKEY_RSA, …).
    var baseID: Int32 { EVP_PKEY_get_base_id(pointer) }

    /// The key size in bits.
    var bits: Int { Int(EVP_PKEY_get_bits(pointer)) }

    /// The EC group name ("prime256v1", "secp384r1"), or nil for other key types.
    var groupName: String? {
        var buffer = [CChar](repeating: 0, count: 64)
        var length = 0
        guard EVP_PKEY_get_utf8_string_param(pointer, "group", &buffer, buffer.count, &length) == 1 else {
            OpenSSLErrors.clear()
            return nil
        }
        return String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The DER SubjectPublicKeyInfo.
    var spkiDER: [UInt8] {
        DER.encode { i2d_PUBKEY(pointer, $0) } ?? []
    }

    /// The public key as PEM ("PUBLIC KEY").
    var publicPEM: String {
        MemoryBIO.withWriter { bio in PEM_write_bio_PUBKEY(bio, pointer) == 1 } ?? ""
    }

    /// The private key as PKCS#8 PEM ("PRIVATE KEY"), written through OpenSSL's secure-heap BIO.
    func privatePEM() throws -> SecureBytes {
        OpenSSLErrors.clear()
        guard let bio = BIO_new(BIO_s_secmem()) else { opensslFatal("allocate a BIO") }
        defer { BIO_free(bio) }
        guard PEM_write_bio_PrivateKey(bio, pointer, nil, nil, 0, nil, nil) == 1 else {
            throw CryptoError.openSSL(.invalidKey, "writing the private key as PKCS#8 PEM failed")
        }
        var data: UnsafeMutablePointer<CChar>?
        let length = enclava_ossl_bio_get_mem_data(bio, &data)
        guard length > 0, let data else { throw CryptoError.openSSL(.internalFailure, "the PEM writer produced no output") }
        return SecureBytes(copying: UnsafeRawBufferPointer(start: data, count: length))
    }

    /// Parses a DER SubjectPublicKeyInfo, refusing trailing bytes.
    static func fromSPKI(_ der: [UInt8]) throws -> PKey {
        OpenSSLErrors.clear()
        guard let key = DER.decode(der, { d2i_PUBKEY(nil, $0, $1) }) else {
            throw CryptoError.openSSL(.invalidKey, "the SubjectPublicKeyInfo (\(der.count) bytes) is not a valid DER public key")
        }
        return PKey(taking: key)
    }

    /// Parses a "PUBLIC KEY" PEM.
    static func fromPublicPEM(_ pem: String) throws -> PKey {
        OpenSSLErrors.clear()
        let key = MemoryBIO.withReader(Array(pem.utf8)) { PEM_read_bio_PUBKEY($0, nil, nil, nil) }
        guard let key else { throw CryptoError.openSSL(.invalidKey, "the text is not a PEM \"PUBLIC KEY\"") }
        return PKey(taking: key)
    }

    /// Parses a private key PEM (PKCS#8 "PRIVATE KEY", or the traditional "EC PRIVATE KEY" / "RSA PRIVATE KEY").
    /// Encrypted PEM is refused (no passphrase callback is offered).
    static func fromPrivatePEM(_ pem: String) throws -> PKey {
        OpenSSLErrors.clear()
        var bytes = Array(pem.utf8)
        defer { bytes.withUnsafeMutableBytes { if let base = $0.baseAddress { OPENSSL_cleanse(base, $0.count) } } }
        let key = MemoryBIO.withReader(bytes) { PEM_read_bio_PrivateKey($0, nil, nil, nil) }
        guard let key else {
            throw CryptoError.openSSL(.invalidKey, "the text is not an unencrypted PEM private key (PKCS#8 or SEC1/PKCS#1)")
        }
        return PKey(taking: key)
    }

    /// Generates a key with `configure` applied to a keygen context of type `type`.
    static func generate(type: Int32, what: String, configure: (OpaquePointer) -> Bool) throws -> PKey {
        OpenSSLErrors.clear()
        guard let ctx = EVP_PKEY_CTX_new_id(type, nil) else { opensslFatal("allocate a key generation context") }
        defer { EVP_PKEY_CTX_free(ctx) }
        var key: OpaquePointer?
        guard EVP_PKEY_keygen_init(ctx) == 1, configure(ctx), EVP_PKEY_generate(ctx, &key) == 1, let key else {
            throw CryptoError.openSSL(.internalFailure, "generating \(what) failed")
        }
        return PKey(taking: key)
    }
}
