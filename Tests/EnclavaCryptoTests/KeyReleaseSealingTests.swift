import EnclavaCrypto
import Testing

/// DESIGN.md §7: a sealed model key opens only with the enclave's key, for the evidence, image and flow it
/// was sealed for.
@Suite struct KeyReleaseSealingTests {
    let enclaveKey = X25519PrivateKey()
    let dek = SecureBytes.random(count: 32)
    let evidenceDigest = [UInt8](repeating: 0xE1, count: 48)
    let manifestDigest = [UInt8](repeating: 0x3D, count: 48)

    func sealed(purpose: KeyReleaseSealing.Purpose = .ownerProvision) throws -> KeyReleaseSealing.Sealed {
        try KeyReleaseSealing.seal(dek, to: enclaveKey.publicKey, purpose: purpose,
                                   evidenceDigest: evidenceDigest, manifestDigest: manifestDigest)
    }

    @Test(arguments: KeyReleaseSealing.Purpose.allCases)
    func roundTrips(purpose: KeyReleaseSealing.Purpose) throws {
        let opened = try KeyReleaseSealing.open(try sealed(purpose: purpose), privateKey: enclaveKey, purpose: purpose,
                                                evidenceDigest: evidenceDigest, manifestDigest: manifestDigest)
        #expect(opened.unsafeCopyToArray() == dek.unsafeCopyToArray())
    }

    enum Wrong: String, CaseIterable { case privateKey, purpose, evidence, image, ciphertext, enc }

    @Test(arguments: Wrong.allCases)
    func anythingElseFailsAuthentication(_ wrong: Wrong) throws {
        let good = try sealed()
        var ciphertext = good.ciphertext
        var enc = good.enc
        if wrong == .ciphertext { ciphertext[0] ^= 1 }
        if wrong == .enc { enc[5] ^= 1 }
        let error = #expect(throws: CryptoError.self) {
            try KeyReleaseSealing.open(KeyReleaseSealing.Sealed(enc: enc, ciphertext: ciphertext),
                                           privateKey: wrong == .privateKey ? X25519PrivateKey() : enclaveKey,
                                           purpose: wrong == .purpose ? .brokerRelease : .ownerProvision,
                                           evidenceDigest: wrong == .evidence ? [UInt8](repeating: 0, count: 48) : evidenceDigest,
                                           manifestDigest: wrong == .image ? [UInt8](repeating: 0, count: 48) : manifestDigest)
        }
        #expect(error?.code == .authenticationFailed, "\(String(describing: error))")
    }

    @Test func sizesAreChecked() throws {
        #expect(throws: CryptoError(.invalidKey, "a model key is 32 bytes, got 16")) {
            _ = try KeyReleaseSealing.seal(SecureBytes.random(count: 16), to: enclaveKey.publicKey, purpose: .ownerProvision,
                                           evidenceDigest: evidenceDigest, manifestDigest: manifestDigest)
        }
        #expect(throws: CryptoError(.invalidKey, "the HPKE enc is 32 bytes, got 31")) {
            _ = try KeyReleaseSealing.open(KeyReleaseSealing.Sealed(enc: [UInt8](repeating: 1, count: 31), ciphertext: [1]),
                                           privateKey: enclaveKey, purpose: .ownerProvision,
                                           evidenceDigest: evidenceDigest, manifestDigest: manifestDigest)
        }
    }
}
