import EnclavaCrypto

extension SNPReport {
    /// The ECDSA signature in the report, converted from the 72-byte little-endian R and S fields.
    /// Nil if bytes above the low 48 are non-zero (not a P-384 signature).
    public var signature: ECDSASignature? {
        guard signatureR[48...].allSatisfy({ $0 == 0 }), signatureS[48...].allSatisfy({ $0 == 0 }) else { return nil }
        return ECDSASignature(r: Array(signatureR[0..<48].reversed()), s: Array(signatureS[0..<48].reversed()))
    }

    /// Whether the signature verifies over ``signedBytes`` under `key` (ECDSA P-384 / SHA-384).
    /// This checks the signature only, not whether the key is trustworthy: use ``EvidenceVerifier`` for that.
    public func isSignatureValid(for key: ECDSAPublicKey) -> Bool {
        guard let signature else { return false }
        return key.isValidSignature(signature, for: signedBytes, digest: .sha384)
    }

    /// Signs the report the way SEV-SNP firmware does: sets `SIGNATURE_ALGO` to 1, signs bytes 0..<0x2A0
    /// with ECDSA P-384 / SHA-384 and stores R and S little-endian, zero-padded to 72 bytes.
    ///
    /// - Parameter key: a P-384 key (the simulated VCEK).
    /// - Throws: `CryptoError` if the key is not P-384 or signing fails.
    public mutating func sign(with key: ECDSAPrivateKey) throws {
        guard key.curve == .p384 else {
            throw CryptoError(.invalidKey, "an SNP report is signed with a P-384 key, not \(key.curve)")
        }
        signatureAlgorithm = SNPReport.ecdsaP384SHA384
        let signature = try key.signature(for: signedBytes, digest: .sha384)
        let padding = [UInt8](repeating: 0, count: 72 - 48)
        signatureR = Array(signature.r.reversed()) + padding
        signatureS = Array(signature.s.reversed()) + padding
        signatureReserved = [UInt8](repeating: 0, count: SNPReportLayout.signatureReserved.size)
    }
}
