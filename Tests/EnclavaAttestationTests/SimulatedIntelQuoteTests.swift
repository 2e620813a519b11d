import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavaAttestation

/// Simulated TDX quotes v4 and SGX quotes v3 (``SimulatedIntelQuoter``) run the hardware verifier path and
/// are accepted only under `allow_simulation` with their root pinned.
@Suite struct SimulatedIntelQuoteTests {
    /// One quoter for the shared simulated platform.
    static let quoter: Result<SimulatedIntelQuoter, any Error> = Result {
        try SimulatedIntelQuoter(platform: try intel())
    }

    /// The Intel part of the shared simulated platform (made by `SimulatedPlatform.initialize`).
    static func intel() throws -> SimulatedIntelPlatform {
        try SimulatedIntelPlatform.load(home: try SimFixture.platform().home)
    }

    /// A simulated TD running "a runtime executable": fixed firmware MRTD, the runtime in RTMR1.
    static let registers = SimulatedTDXRegisters(runtimeDigest: SHA2.sha384(Array("a runtime executable".utf8)))
    static let mrTD = registers.mrTD
    static let mrEnclave = SHA2.sha256(Array("a runtime executable".utf8))

    struct Case: CustomStringConvertible, Sendable {
        let platform: EvidencePlatform
        var measurement: [UInt8] { platform == .tdx ? SimulatedIntelQuoteTests.mrTD : SimulatedIntelQuoteTests.mrEnclave }
        var description: String { platform.rawValue }
    }

    static let cases = [Case(platform: .tdx), Case(platform: .sgx)]

    /// Evidence for `nonce` as the sim backend makes it.
    static func evidence(_ platform: EvidencePlatform, nonce: [UInt8]) throws -> Evidence {
        let quoter = try quoter.get()
        let reportData = ReportData.make(nonce: nonce, manifestDigest: SimFixture.manifestDigest, hpkePublicKey: SimFixture.hpkeKey)
        let quote = platform == .tdx
            ? try quoter.tdxQuote(mrTD: mrTD, rtmrs: registers.rtmrs, reportData: reportData)
            : try quoter.sgxQuote(mrEnclave: mrEnclave, reportData: reportData)
        // The simulated collateral travels beside the quote, as the sim backend relays it.
        return Evidence(platform: platform, blob: quote, certificates: [],
                        collateral: EvidenceCollateral(quote: try intel().collateral(for: platform)))
    }

    /// A policy for `platform` that allows simulation and pins `roots` (none: trust the verifier's).
    static func policy(_ platform: EvidencePlatform, allowSimulation: Bool = true, roots: [Certificate]) -> AttestationPolicy {
        let measurement = platform == .tdx ? mrTD : mrEnclave
        var policy = AttestationPolicy(
            allowedPlatforms: [platform], allowSimulation: allowSimulation, allowDebug: false,
            expectedMeasurements: [Hex.encode(measurement)], expectedManifestDigests: [Hex.encode(SimFixture.manifestDigest)],
            simulatedRootFingerprints: roots.map { Hex.encode($0.sha256Fingerprint) })
        if platform == .tdx { registers.pin(in: &policy) }  // a TDX session policy pins MRTD and RTMR0–2
        return policy
    }

    static func verify(
        _ evidence: Evidence, nonce: [UInt8], policy: AttestationPolicy, verifier: EvidenceVerifier = EvidenceVerifier()
    ) throws -> VerifiedEvidence {
        try verifier.verify(
            evidence, nonce: nonce, manifestDigest: SimFixture.manifestDigest, hpkePublicKey: SimFixture.hpkeKey,
            policy: policy)
    }

    static func error(_ body: () throws -> Void) -> AttestationError? {
        do {
            try body()
            return nil
        } catch let error as AttestationError {
            return error
        } catch {
            return AttestationError(.malformedEvidence, "unexpected \(error)")
        }
    }

    @Test(arguments: cases) func acceptedUnderAllowSimulationWithThePinnedRoot(_ c: Case) throws {
        let intel = try SimulatedIntelQuoteTests.intel()
        let nonce = SecureRandom.bytes(count: 32)
        let evidence = try Self.evidence(c.platform, nonce: nonce)
        let verified = try Self.verify(evidence, nonce: nonce, policy: Self.policy(c.platform, roots: [intel.root]))
        #expect(verified.isSimulated)
        #expect(verified.platform == c.platform)
        #expect(verified.measurement == c.measurement)
        #expect(verified.rootFingerprint == intel.root.sha256Fingerprint)
        #expect(verified.hpkePublicKey == SimFixture.hpkeKey)
        let claims = Dictionary(verified.claims, uniquingKeysWith: { first, _ in first })
        #expect(claims["platform"] == "\(c.platform.rawValue) (SIMULATED: no hardware protection)")
        #expect(claims["FMSPC"] == Hex.encode(SimulatedIntelPlatform.Identity.fmspc))
        #expect(claims["root"]?.contains("Enclava simulated") == true)
        #expect(claims[c.platform == .tdx ? "MRTD" : "MRENCLAVE"] == Hex.encode(c.measurement))

        // A verifier that holds the local root accepts it when the policy pins none.
        let local = EvidenceVerifier(simulatedRoots: [try SimFixture.platform().ark, intel.root])
        #expect(try Self.verify(evidence, nonce: nonce, policy: Self.policy(c.platform, roots: []), verifier: local).isSimulated)
    }

    @Test(arguments: cases) func quoteLayoutIsTheHardwareOne(_ c: Case) throws {
        let intel = try SimulatedIntelQuoteTests.intel()
        let evidence = try Self.evidence(c.platform, nonce: SecureRandom.bytes(count: 32))
        let layout = try IntelQuoteLayout(evidence.blob, platform: c.platform)
        #expect(layout.byteCount == evidence.blob.count)
        #expect(layout.signatureData.qeAuthData.count == 32)
        #expect(layout.signatureData.attestationKey == (try Self.quoter.get()).attestationPublicKey)
        #expect(try layout.signatureData.parsePCKChain() == [intel.pck, intel.pckCA, intel.root])
        let pck = try PCKCertificate(intel.pck)
        #expect(pck.fmspc == SimulatedIntelPlatform.Identity.fmspc)
        #expect(pck.sgxTCBComponents == SimulatedIntelPlatform.Identity.sgxTCBComponents)
        #expect(pck.pceSVN == SimulatedIntelPlatform.Identity.pceSVN && pck.pceID == [0, 0])
        #expect(pck.platformInstanceID?.count == 16 && pck.ppid.count == 16)
        if c.platform == .tdx {
            let quote = try TDXQuote(parsing: evidence.blob)
            #expect(quote.header.version == 4 && quote.header.teeType == QuoteHeader.teeTypeTDX)
            #expect(quote.body.mrTD == Self.mrTD && !quote.body.isDebug && quote.body.isSEPTVEDisabled)
            #expect(quote.signatureData.qeReport.isvProdID == 2)
        } else {
            let quote = try SGXQuote(parsing: evidence.blob)
            #expect(quote.header.version == 3 && quote.header.pceSVN == SimulatedIntelPlatform.Identity.pceSVN)
            #expect(quote.body.mrEnclave == Self.mrEnclave && !quote.body.isDebug)
            #expect(quote.signatureData.qeReport.isvProdID == 1)
        }
    }

    @Test(arguments: cases) func refusedWithoutAllowSimulation(_ c: Case) throws {
        let intel = try SimulatedIntelQuoteTests.intel()
        let nonce = SecureRandom.bytes(count: 32)
        let evidence = try Self.evidence(c.platform, nonce: nonce)
        let policy = Self.policy(c.platform, allowSimulation: false, roots: [intel.root])
        let error = Self.error { _ = try Self.verify(evidence, nonce: nonce, policy: policy) }
        #expect(error?.code == .simulationNotAllowed)
        // Even a verifier that holds the simulated root refuses it.
        let local = EvidenceVerifier(simulatedRoots: [intel.root])
        #expect(Self.error { _ = try Self.verify(evidence, nonce: nonce, policy: policy, verifier: local) }?.code == .simulationNotAllowed)
    }

    @Test(arguments: cases) func refusedWhenAnotherSimulatedRootIsPinned(_ c: Case) throws {
        let platform = try SimFixture.platform()
        let nonce = SecureRandom.bytes(count: 32)
        let evidence = try Self.evidence(c.platform, nonce: nonce)
        // The SNP ARK of the same home, and another machine's Intel root: neither is this quote's root.
        let otherRoot = try Self.otherRoot()
        for pinned in [platform.ark, otherRoot] {
            let error = Self.error { _ = try Self.verify(evidence, nonce: nonce, policy: Self.policy(c.platform, roots: [pinned])) }
            #expect(error?.code == .untrustedRoot, "\(pinned.subject)")
            #expect(error?.actual == Hex.encode(try SimulatedIntelQuoteTests.intel().root.sha256Fingerprint))
        }
        // A verifier that holds only another root, with nothing pinned in the policy.
        let other = EvidenceVerifier(simulatedRoots: [otherRoot])
        #expect(Self.error { _ = try Self.verify(evidence, nonce: nonce, policy: Self.policy(c.platform, roots: []), verifier: other) }?.code
            == .untrustedRoot)
        #expect(Self.error { _ = try Self.verify(evidence, nonce: nonce, policy: Self.policy(c.platform, roots: [])) }?.code
            == .untrustedRoot)
    }

    @Test(arguments: cases) func aChainWithoutItsRootNeedsAPinnedRootTheVerifierHolds(_ c: Case) throws {
        let intel = try Self.intel()
        let nonce = SecureRandom.bytes(count: 32)
        var evidence = try Self.evidence(c.platform, nonce: nonce)
        evidence.blob = try IntelQuoteLayout(evidence.blob, platform: c.platform).withPCKChain([intel.pck, intel.pckCA])
        let policy = Self.policy(c.platform, roots: [intel.root])
        // Only the verifier's own copy of the pinned root can complete the chain.
        #expect(Self.error { _ = try Self.verify(evidence, nonce: nonce, policy: policy) }?.code == .certificateChainInvalid)
        let local = EvidenceVerifier(simulatedRoots: [intel.root])
        #expect(try Self.verify(evidence, nonce: nonce, policy: policy, verifier: local).isSimulated)
        var refusing = policy
        refusing.allowSimulation = false
        #expect(Self.error { _ = try Self.verify(evidence, nonce: nonce, policy: refusing, verifier: local) }?.code
            == .simulationNotAllowed)
        refusing = Self.policy(c.platform, roots: [try Self.otherRoot()])
        #expect(Self.error { _ = try Self.verify(evidence, nonce: nonce, policy: refusing, verifier: local) }?.code
            == .certificateChainInvalid)
    }

    /// A self-signed root like the simulated one, from another key.
    static func otherRoot() throws -> Certificate {
        let key = try ECDSAPrivateKey.generate(curve: .p256)
        return try CertificateBuilder(
            subject: [("CN", "SGX-Sim Root CA (Enclava simulated)"), ("O", SimulatedPlatform.organization)],
            notBefore: Date().addingTimeInterval(-3600), notAfter: Date().addingTimeInterval(3600 * 24 * 365), isCA: true
        ).build(subjectPublicKeySPKI: key.publicKey.spkiDER, issuer: nil, signer: .ecdsa(key, .sha256))
    }
}
