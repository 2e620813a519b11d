// Small adapters over OpenSSL calling conventions, shared by the key, signature and certificate types.
internal import COpenSSL

/// Helpers for OpenSSL's i2d/d2i calling convention.
enum DER {
    /// Runs an `i2d_*` function twice: once for the length, once to write.
    static func encode(_ body: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?) -> Int32) -> [UInt8]? {
        let length = body(nil)
        guard length > 0 else { return nil }
        var output = [UInt8](repeating: 0, count: Int(length))
        let written = output.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            return body(&cursor)
        }
        return written == length ? output : nil
    }

    /// Runs a `d2i_*` function over all of `bytes`; returns nil when it fails or leaves bytes unread.
    static func decode<T>(_ bytes: [UInt8], _ body: (UnsafeMutablePointer<UnsafePointer<UInt8>?>, Int) -> T?) -> T? {
        guard !bytes.isEmpty else { return nil }
        return bytes.withUnsafeBufferPointer { buffer -> T? in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            guard let value = body(&cursor, buffer.count) else { return nil }
            guard let end = cursor, end == buffer.baseAddress! + buffer.count else { return nil }
            return value
        }
    }
}

/// Short-lived memory BIOs.
enum MemoryBIO {
    /// Calls `body` with a read-only BIO over `bytes`.
    static func withReader<T>(_ bytes: [UInt8], _ body: (OpaquePointer) -> T?) -> T? {
        bytes.withUnsafeBytes { raw -> T? in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { opensslFatal("allocate a BIO") }
            defer { BIO_free(bio) }
            return body(bio)
        }
    }

    /// Calls `body` with an empty memory BIO and returns what it wrote as text, or nil when `body` fails.
    static func withWriter(_ body: (OpaquePointer) -> Bool) -> String? {
        guard let bio = BIO_new(BIO_s_mem()) else { opensslFatal("allocate a BIO") }
        defer { BIO_free(bio) }
        guard body(bio) else { return nil }
        var data: UnsafeMutablePointer<CChar>?
        let length = enclava_ossl_bio_get_mem_data(bio, &data)
        guard length >= 0, let data else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
    }
}

/// BIGNUM conversions.
enum BigNumber {
    /// The magnitude of `bn`, big-endian, without leading zeros (empty for zero).
    static func bytes(_ bn: OpaquePointer) -> [UInt8] {
        let count = (Int(BN_num_bits(bn)) + 7) / 8
        var output = [UInt8](repeating: 0, count: count)
        if count > 0 { _ = BN_bn2bin(bn, &output) }
        return output
    }

    /// A new BIGNUM (caller owns it) from big-endian bytes.
    static func make(_ bytes: [UInt8]) -> OpaquePointer {
        guard let bn = BN_bin2bn(bytes, Int32(bytes.count), nil) else { opensslFatal("allocate a BIGNUM") }
        return bn
    }
}
