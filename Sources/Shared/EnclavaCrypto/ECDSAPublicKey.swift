internal import COpenSSL

/// An ECDSA public key on P-256 or P-384.
public struct ECDSAPublicKey: Sendable, Equatable {
    let key: PKey
    /// The curve.
    public let curve: ECCurve
    /// The DER SubjectPublicKeyInfo (kept so that equality and export need no OpenSSL call).
    public let spkiDER: [UInt8]

    init(key: PKey) throws {
        guard key.baseID == EVP_PKEY_EC else {
            throw CryptoError(.invalidKey, "the key is not an elliptic-curve key")
        }
        guard let group = key.groupName, let curve = ECCurve(groupName: group) else {
            throw CryptoError(.invalidKey, "the EC key is on curve \(key.groupName ?? "unknown"); only P-256 and P-384 are supported")
        }
        self.key = key
        self.curve = curve
        spkiDER = key.spkiDER
    }

    /// A key from its DER SubjectPublicKeyInfo.
    /// - Throws: ``CryptoError`` `.invalidKey` for malformed DER, a point not on the curve, or another curve.
    public init(spkiDER: [UInt8]) throws {
        try self.init(key: PKey.fromSPKI(spkiDER))
    }

    /// A key from "PUBLIC KEY" PEM text.
    /// - Throws: ``CryptoError`` `.invalidKey`.
    public init(pem: String) throws {
        try self.init(key: PKey.fromPublicPEM(pem))
    }

    /// A key from raw big-endian affine coordinates (each at most the field size; shorter values are
    /// left-padded, as in SEV-SNP's little-endian-turned-big-endian fields).
    /// - Throws: ``CryptoError`` `.invalidKey` when the point is not on the curve.
    public init(curve: ECCurve, x: [UInt8], y: [UInt8]) throws {
        let size = curve.coordinateByteCount
        let x = Array(x.drop { $0 == 0 })
        let y = Array(y.drop { $0 == 0 })
        guard x.count <= size, y.count <= size else {
            throw CryptoError(.invalidKey, "\(curve) coordinates are at most \(size) bytes")
        }
        let point = [0x04] + [UInt8](repeating: 0, count: size - x.count) + x + [UInt8](repeating: 0, count: size - y.count) + y
        // SubjectPublicKeyInfo { AlgorithmIdentifier { id-ecPublicKey, namedCurve }, BIT STRING point }.
        let prefix: [UInt8] = curve == .p256
            ? [0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01,
               0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00]
            : [0x30, 0x76, 0x30, 0x10, 0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01,
               0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22, 0x03, 0x62, 0x00]
        do {
            try self.init(spkiDER: prefix + point)
        } catch {
            throw CryptoError(.invalidKey, "the coordinates are not a point on \(curve)")
        }
    }

    /// "PUBLIC KEY" PEM text.
    public var pemRepresentation: String { key.publicPEM }

    /// The uncompressed point `04 ‖ x ‖ y`.
    public var x962Representation: [UInt8] { Array(spkiDER.suffix(1 + 2 * curve.coordinateByteCount)) }

    /// The x coordinate, big-endian, curve-size bytes.
    public var x: [UInt8] { Array(x962Representation[1...curve.coordinateByteCount]) }

    /// The y coordinate, big-endian, curve-size bytes.
    public var y: [UInt8] { Array(x962Representation[(1 + curve.coordinateByteCount)...]) }

    /// True when `signature` is valid for `message` hashed with `digest`.
    public func isValidSignature(_ signature: ECDSASignature, for message: [UInt8], digest: DigestAlgorithm) -> Bool {
        message.withUnsafeBytes { isValidSignature(signature, for: $0, digest: digest) }
    }

    /// True when `signature` is valid for the bytes of `message` hashed with `digest`.
    public func isValidSignature(_ signature: ECDSASignature, for message: UnsafeRawBufferPointer, digest: DigestAlgorithm) -> Bool {
        let der = signature.derRepresentation
        return Signing.verify(key: key, signature: der, message: message, digest: digest, pss: nil)
    }

    /// Keys are equal when their SubjectPublicKeyInfo encodings are.
    public static func == (lhs: ECDSAPublicKey, rhs: ECDSAPublicKey) -> Bool {
        lhs.spkiDER == rhs.spkiDER
    }
}
