internal import COpenSSL

/// An ECDSA signature as the integers `r` and `s`.
public struct ECDSASignature: Sendable, Equatable {
    /// `r` and `s` without leading zero bytes.
    private let rValue: [UInt8]
    private let sValue: [UInt8]
    /// The width `r` and `s` are padded to.
    private let width: Int

    /// A signature from big-endian `r` and `s` of any length up to the field size (leading zeros allowed;
    /// the curve size is inferred: 32 bytes if both fit, else 48).
    public init(r: [UInt8], s: [UInt8]) {
        rValue = Self.stripped(r)
        sValue = Self.stripped(s)
        let longest = Swift.max(rValue.count, sValue.count)
        width = longest <= 32 ? 32 : (longest <= 48 ? 48 : longest)
    }

    /// A signature for `curve` from big-endian `r` and `s`.
    /// - Throws: ``CryptoError`` `.invalidSignature` when `r` or `s` is longer than the curve's field.
    public init(r: [UInt8], s: [UInt8], curve: ECCurve) throws {
        let r = Self.stripped(r)
        let s = Self.stripped(s)
        guard r.count <= curve.coordinateByteCount, s.count <= curve.coordinateByteCount else {
            throw CryptoError(.invalidSignature, "ECDSA r/s are longer than \(curve.coordinateByteCount) bytes, the size of \(curve)")
        }
        rValue = r
        sValue = s
        width = curve.coordinateByteCount
    }

    /// A signature from its DER `ECDSA-Sig-Value` (SEQUENCE of two INTEGERs), as X.509 and OpenSSL use.
    /// - Throws: ``CryptoError`` `.invalidSignature` for malformed or non-canonical DER.
    public init(derRepresentation der: [UInt8]) throws {
        OpenSSLErrors.clear()
        guard let signature = DER.decode(der, { d2i_ECDSA_SIG(nil, $0, $1) }) else {
            throw CryptoError.openSSL(.invalidSignature, "the ECDSA signature is not a DER SEQUENCE of two INTEGERs")
        }
        defer { ECDSA_SIG_free(signature) }
        var r: OpaquePointer?
        var s: OpaquePointer?
        ECDSA_SIG_get0(signature, &r, &s)
        guard let r, let s else { throw CryptoError(.invalidSignature, "the ECDSA signature lacks r or s") }
        self.init(r: BigNumber.bytes(r), s: BigNumber.bytes(s))
        guard derRepresentation == der else {
            throw CryptoError(.invalidSignature, "the ECDSA signature is not in canonical DER")
        }
    }

    /// `r`, big-endian, left-padded to the curve size.
    public var r: [UInt8] { Self.padded(rValue, to: width) }
    /// `s`, big-endian, left-padded to the curve size.
    public var s: [UInt8] { Self.padded(sValue, to: width) }

    /// `r ‖ s`, each padded to the curve size (the "raw" or IEEE P1363 form).
    public var rawRepresentation: [UInt8] { r + s }

    /// The DER `ECDSA-Sig-Value`.
    public var derRepresentation: [UInt8] {
        guard let signature = ECDSA_SIG_new() else { opensslFatal("allocate an ECDSA signature") }
        defer { ECDSA_SIG_free(signature) }
        let r = BigNumber.make(rValue)
        let s = BigNumber.make(sValue)
        guard ECDSA_SIG_set0(signature, r, s) == 1 else { opensslFatal("build an ECDSA signature") }
        return DER.encode { i2d_ECDSA_SIG(signature, $0) } ?? []
    }

    /// Equal when `r` and `s` are equal as integers.
    public static func == (lhs: ECDSASignature, rhs: ECDSASignature) -> Bool {
        lhs.rValue == rhs.rValue && lhs.sValue == rhs.sValue
    }

    private static func stripped(_ bytes: [UInt8]) -> [UInt8] {
        Array(bytes.drop { $0 == 0 })
    }

    private static func padded(_ bytes: [UInt8], to width: Int) -> [UInt8] {
        bytes.count >= width ? bytes : [UInt8](repeating: 0, count: width - bytes.count) + bytes
    }
}
