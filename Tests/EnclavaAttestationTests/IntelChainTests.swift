import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavaAttestation

/// Generated certificate and collateral negatives: certificates from other samples, swapped and truncated
/// chains, times outside validity, a look-alike root, and altered collateral.
@Suite struct IntelChainTests {
    typealias Sample = IntelTestData.Sample

    static func chain(_ sample: Sample) throws -> [Certificate] {
        try IntelQuoteLayout(IntelTestData.bytes(sample.file), platform: sample.platform).signatureData.parsePCKChain()
    }

    static func layout(_ sample: Sample) throws -> IntelQuoteLayout {
        try IntelQuoteLayout(IntelTestData.bytes(sample.file), platform: sample.platform)
    }

    static func error(_ sample: Sample, quote: [UInt8], at time: Date? = nil, trustAnchors: [Certificate] = IntelRootCertificates.all) -> AttestationError? {
        IntelTestData.attestationError { try IntelTestData.verify(sample, quote: quote, at: time, trustAnchors: trustAnchors) }
    }

    /// Rebuilding a quote with its own chain changes nothing (the rebuild itself is sound).
    @Test(arguments: IntelTestData.samples)
    func rebuiltWithOwnChainVerifies(_ sample: Sample) throws {
        let layout = try Self.layout(sample)
        #expect(Self.error(sample, quote: layout.withPCKChain(try Self.chain(sample)))?.code == sample.refusal)
    }

    /// Every certificate of every other sample's chain put in place of each position of this chain.
    @Test(arguments: IntelTestData.samples)
    func certificatesFromOtherSamplesAreRefused(_ sample: Sample) throws {
        let layout = try Self.layout(sample)
        let own = try Self.chain(sample)
        for other in IntelTestData.samples where other.file != sample.file {
            for (position, foreign) in try Self.chain(other).enumerated() where !own.contains(foreign) {
                var chain = own
                chain[position] = foreign
                let error = Self.error(sample, quote: layout.withPCKChain(chain))
                switch position {
                case 0:  // another PCK key: the QE report signature no longer verifies
                    #expect(error?.code == .signatureInvalid && error?.field == "QE report signature", "\(other.file): \(String(describing: error))")
                default:  // another CA (Processor instead of Platform): the chain breaks
                    #expect(error?.code == .certificateChainInvalid && error?.field == "PCK chain", "\(other.file): \(String(describing: error))")
                }
            }
        }
    }

    @Test(arguments: IntelTestData.samples)
    func swappedAndShortenedChainsAreRefused(_ sample: Sample) throws {
        let layout = try Self.layout(sample)
        let chain = try Self.chain(sample)
        // The CA first: the "leaf" is then a CA whose key did not sign the QE report.
        #expect(Self.error(sample, quote: layout.withPCKChain([chain[1], chain[0], chain[2]]))?.field == "QE report signature")
        // Without the PCK CA the path cannot be built.
        #expect(Self.error(sample, quote: layout.withPCKChain([chain[0], chain[2]]))?.code == .certificateChainInvalid)
        // A lone leaf is not a chain.
        #expect(Self.error(sample, quote: layout.withPCKChain([chain[0]]))?.code == .certificateChainInvalid)
        // Too many certificates.
        #expect(Self.error(sample, quote: layout.withPCKChain(chain + chain))?.code == .certificateChainInvalid)
    }

    /// The PEM chain cut at generated points: malformed (or a short chain), never a crash.
    @Test(arguments: IntelTestData.samples)
    func truncatedCertificatesAreRefused(_ sample: Sample) throws {
        let layout = try Self.layout(sample)
        let pem = layout.signatureData.pckChainPEM
        for cut in stride(from: 0, to: pem.count, by: 97) {
            let text = String(decoding: pem[0..<cut], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            let error = Self.error(sample, quote: layout.withPCKChain(Array(pem[0..<cut])))
            if error == nil {
                // Only a cut after the second whole certificate (and before the root's complete BEGIN line)
                // leaves a valid chain: leaf and CA, built to the pinned root.
                let ends = text.components(separatedBy: "-----END CERTIFICATE-----")
                #expect(ends.count == 3 && !ends[2].contains("-----BEGIN CERTIFICATE-----"), "cut at \(cut)")
            } else {
                #expect(error?.code == .malformedEvidence || error?.code == .certificateChainInvalid, "cut at \(cut): \(String(describing: error))")
            }
        }
    }

    /// One flipped bit in the last byte (the signature) of each certificate.
    @Test(arguments: IntelTestData.samples)
    func alteredCertificateSignaturesAreRefused(_ sample: Sample) throws {
        let layout = try Self.layout(sample)
        let chain = try Self.chain(sample)
        for position in chain.indices {
            var der = chain[position].derRepresentation
            der[der.count - 1] ^= 0x01
            var altered = chain
            altered[position] = try Certificate(derRepresentation: der)
            let error = Self.error(sample, quote: layout.withPCKChain(altered))
            if position == chain.count - 1 {
                // The root in the quote is not the pinned one any more.
                #expect(error?.code == .untrustedRoot, "\(String(describing: error))")
            } else {
                #expect(error?.code == .certificateChainInvalid, "position \(position): \(String(describing: error))")
            }
        }
    }

    @Test(arguments: IntelTestData.samples)
    func timeOutsideValidityIsRefused(_ sample: Sample) throws {
        let bytes = try IntelTestData.bytes(sample.file)
        let leaf = try Self.chain(sample)[0]
        for time in [leaf.notBefore.addingTimeInterval(-1), leaf.notAfter.addingTimeInterval(1)] {
            let error = Self.error(sample, quote: bytes, at: time)
            #expect(error?.code == .certificateChainInvalid && error?.field == "PCK chain", "\(time): \(String(describing: error))")
        }
        // At the leaf's first second the chain verifies (only the collateral, dated later, is then missing).
        let first = IntelTestData.attestationError { try IntelTestData.verify(sample, quote: bytes, withoutCollateral: true, at: leaf.notBefore) }
        #expect(first?.code == .collateralMissing, "\(String(describing: first))")
    }

    /// A self-signed look-alike "Intel SGX Root CA": as the quote's root it is untrusted; as our only
    /// trust anchor, the real root in the quote is untrusted.
    @Test(arguments: IntelTestData.samples)
    func wrongRootIsRefused(_ sample: Sample) throws {
        let layout = try Self.layout(sample)
        let key = try ECDSAPrivateKey.generate(curve: .p256)
        let real = IntelRootCertificates.sgxRootCA
        let fake = try CertificateBuilder(
            subject: [("CN", "Intel SGX Root CA"), ("O", "Intel Corporation"), ("L", "Santa Clara"), ("ST", "CA"), ("C", "US")],
            notBefore: real.notBefore, notAfter: real.notAfter, isCA: true
        ).build(subjectPublicKeySPKI: key.publicKey.spkiDER, issuer: nil, signer: .ecdsa(key, .sha256))
        var chain = try Self.chain(sample)
        let bytes = layout.bytes
        let anchored = Self.error(sample, quote: bytes, trustAnchors: [fake])
        #expect(anchored?.code == .untrustedRoot && anchored?.actual == Hex.encode(real.sha256Fingerprint))
        chain[chain.count - 1] = fake
        let swapped = Self.error(sample, quote: layout.withPCKChain(chain))
        #expect(swapped?.code == .untrustedRoot && swapped?.actual == Hex.encode(fake.sha256Fingerprint))
        // Dropping the root from the quote does not help: the chain is built to the pinned root.
        #expect(Self.error(sample, quote: layout.withPCKChain(Array(chain.dropLast())))?.code == sample.refusal)
        #expect(Self.error(sample, quote: layout.withPCKChain(Array(chain.dropLast())), trustAnchors: [fake])?.code == .certificateChainInvalid)
    }
}

/// Altered collateral: every signed document, its signature and its issuer chain.
@Suite struct IntelCollateralTests {
    static let sample = IntelTestData.samples.first { $0.file == "sgx/dcap-qvl/sgx_quote" }!
    static let tdxSample = IntelTestData.samples.first { $0.file == "tdx/dcap-qvl/tdx_quote" }!

    static func error(_ collateral: QuoteCollateral, sample: IntelTestData.Sample = sample, at time: Date? = nil) -> AttestationError? {
        IntelTestData.attestationError { try IntelTestData.verify(sample, collateral: collateral, at: time) }
    }

    /// A flipped bit at generated positions of the TCB Info and QE Identity bytes and of their signatures.
    @Test(arguments: [sample, tdxSample])
    func alteredDocumentsAndSignaturesAreRefused(_ sample: IntelTestData.Sample) throws {
        let collateral = try #require(try IntelTestData.collateral(for: sample))
        for offset in stride(from: 0, to: collateral.tcbInfo.count, by: 131) {
            var altered = collateral
            altered.tcbInfo[offset] ^= 0x01
            #expect(Self.error(altered, sample: sample)?.field == "TCB Info signature")
        }
        for offset in stride(from: 0, to: collateral.qeIdentity.count, by: 37) {
            var altered = collateral
            altered.qeIdentity[offset] ^= 0x01
            #expect(Self.error(altered, sample: sample)?.field == "QE Identity signature")
        }
        for offset in 0..<64 {
            var altered = collateral
            altered.tcbInfoSignature[offset] ^= 0x80
            #expect(Self.error(altered, sample: sample)?.field == "TCB Info signature")
            altered = collateral
            altered.qeIdentitySignature[offset] ^= 0x80
            #expect(Self.error(altered, sample: sample)?.field == "QE Identity signature")
        }
        // Whitespace is not "the same JSON": the signature covers the exact bytes.
        var spaced = collateral
        spaced.tcbInfo = Array(" ".utf8) + collateral.tcbInfo
        #expect(Self.error(spaced, sample: sample)?.field == "TCB Info signature")
    }

    @Test func wrongIssuerChainsAndCRLsAreRefused() throws {
        let collateral = try #require(try IntelTestData.collateral(for: Self.sample))
        let pckChain = try IntelQuoteLayout(IntelTestData.bytes(Self.sample.file), platform: .sgx).signatureData.parsePCKChain()
        var altered = collateral
        altered.tcbInfoIssuerChain = [pckChain[1], pckChain[2]]   // a CA that is not the TCB signer
        #expect(Self.error(altered)?.field == "TCB Info signature")
        altered = collateral
        altered.qeIdentityIssuerChain = Array(collateral.qeIdentityIssuerChain.prefix(1))   // root missing: still built to the pin
        #expect(Self.error(altered) == nil)
        altered = collateral
        altered.rootCRL = collateral.pckCRL   // not the root's CRL
        #expect(Self.error(altered)?.field == "root_ca_crl")
        altered = collateral
        altered.pckCRL = collateral.rootCRL   // not the PCK CA's CRL
        #expect(Self.error(altered)?.field == "pck_crl")
    }

    @Test func collateralOutsideItsWindowIsRefused() throws {
        let collateral = try #require(try IntelTestData.collateral(for: Self.sample))
        for time in ["2025-06-19T10:00:00Z", "2025-07-20T00:00:00Z"] {
            #expect(Self.error(collateral, at: TestData.date(time))?.code == AttestationError.Code.collateralInvalid, "\(time)")
        }
    }

    @Test func collateralForAnotherFMSPCIsRefused() throws {
        let occlum = IntelTestData.samples.first { $0.file == "sgx/trustee/occlum_quote.dat" }!
        let collateral = try #require(try IntelTestData.collateral(for: Self.sample))
        let error = Self.error(collateral, sample: occlum, at: Self.sample.time)
        #expect(error?.code == AttestationError.Code.collateralInvalid)
        #expect(error?.field == "pck_crl" || error?.field == "TCB Info fmspc")
    }

    @Test func pcsResponseMemberExtraction() throws {
        let response = Array(#"{"tcbInfo":{"a":"}\"{","b":[1,{"c":2}]} , "signature":"0aff"}"#.utf8)
        let (body, signature) = try QuoteCollateral.signedMember("tcbInfo", of: response, document: "TCB Info")
        #expect(String(decoding: body, as: UTF8.self) == #"{"a":"}\"{","b":[1,{"c":2}]}"#)
        #expect(signature == [0x0A, 0xFF])
        for bad in [#"{"tcbInfo":{"a":1}"#, #"{"signature":"00"}"#, #"["tcbInfo"]"#, "", #"{"tcbInfo":{"a":"1}, "signature":"zz"}"#] {
            #expect(throws: AttestationError.self) { _ = try QuoteCollateral.signedMember("tcbInfo", of: Array(bad.utf8), document: "TCB Info") }
        }
    }
}
