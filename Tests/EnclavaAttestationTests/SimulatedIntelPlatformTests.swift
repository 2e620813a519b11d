import EnclavaCrypto
import Foundation
import Synchronization
import Testing
@testable import EnclavaAttestation

/// The simulated Intel hierarchy: its files, its chain, its collateral, and its lazy creation in homes made
/// before it existed.
@Suite struct SimulatedIntelPlatformTests {
    typealias Quotes = SimulatedIntelQuoteTests

    @Test func filesArePrivateAndTheChainIsShapedLikeIntels() throws {
        let intel = try SimulatedIntelQuoteTests.intel()
        let mode = { (path: String) in try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int }
        #expect(try mode(intel.directory) == 0o700)
        for file in try FileManager.default.contentsOfDirectory(atPath: intel.directory) {
            #expect(try mode(intel.directory + "/" + file) == 0o600, "\(file)")
        }
        #expect(intel.root.isSelfSigned && intel.root.subject.contains(SimulatedPlatform.organization))
        #expect(intel.pck.issuer == intel.pckCA.subject && intel.pckCA.issuer == intel.root.subject)
        for certificate in [intel.root, intel.pckCA, intel.pck, intel.tcbSigning] {
            #expect(try ECDSAPublicKey(spkiDER: certificate.subjectPublicKeyInfoDER).curve == .p256)
            #expect(certificate.signatureAlgorithmOID == "1.2.840.10045.4.3.2", "\(certificate.subject)")  // ecdsa-with-SHA256
        }
        try CertificateChain.verify(leaf: intel.pck, intermediates: [intel.pckCA], trustAnchors: [intel.root], at: Date())
        #expect(try intel.pckSigningKey().publicKey.spkiDER == intel.pck.subjectPublicKeyInfoDER)
        #expect(intel.pckExtension.sgxType == SimulatedIntelPlatform.Identity.sgxType)
        #expect(intel.root != IntelRootCertificates.sgxRootCA)
        // The platform lists both simulated roots for a verifier that trusts the local simulator.
        #expect(try SimFixture.platform().simulatedRoots() == [try SimFixture.platform().ark, intel.root])
    }

    @Test(arguments: [EvidencePlatform.tdx, .sgx]) func collateralGivesUpToDate(_ platform: EvidencePlatform) throws {
        let intel = try SimulatedIntelQuoteTests.intel()
        let nonce = SecureRandom.bytes(count: 32)
        var evidence = try Quotes.evidence(platform, nonce: nonce)
        evidence.collateral = EvidenceCollateral(quote: try intel.collateral(for: platform))
        let tcb: TCBEvaluation? = platform == .tdx
            ? try EvidenceVerifier.verifyTDX(quote: evidence.blob, collateral: evidence.collateral?.quote, trustAnchors: [intel.root], at: Date()).tcb
            : try EvidenceVerifier.verifySGX(quote: evidence.blob, collateral: evidence.collateral?.quote, trustAnchors: [intel.root], at: Date()).tcb
        #expect(tcb?.status == .upToDate && tcb?.qeStatus == .upToDate)
        #expect(tcb?.advisoryIDs == [])
        if platform == .tdx { #expect(tcb?.tdxModuleStatus == .upToDate) }

        // Through the client path too: the collateral's TCB status reaches the verified claims.
        var policy = Quotes.policy(platform, roots: [intel.root])
        policy.requireTCBStatus = true
        let verified = try Quotes.verify(evidence, nonce: nonce, policy: policy)
        #expect(verified.isSimulated)
        #expect(verified.claims.contains { $0.0 == "tcb status" && $0.1 == "UpToDate" })

        // Collateral from the simulator is not signed by Intel: it does not verify against the real root.
        let error = Quotes.error {
            _ = try EvidenceVerifier.verifyTDX(
                quote: try Quotes.evidence(.tdx, nonce: nonce).blob, collateral: try intel.collateral(for: .tdx),
                trustAnchors: IntelRootCertificates.all, at: Date())
        }
        #expect(error?.code == .collateralInvalid || error?.code == .untrustedRoot)
    }

    @Test func anOlderHomeGetsTheIntelPartOnFirstUse() throws {
        let source = try SimFixture.platform().directory
        let home = try makeTemporaryDirectory("enclava-sim-old")
        defer { try? FileManager.default.removeItem(atPath: home) }
        let sim = home + "/sim"
        try FileManager.default.createDirectory(atPath: sim, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        for file in ["ark.pem", "ask.pem", "vcek.pem", "vcek-key.pem", "platform-secret"] {
            try FileManager.default.copyItem(atPath: source + "/" + file, toPath: sim + "/" + file)
        }
        let error = #expect(throws: SimulatedPlatformError.self) { try SimulatedIntelPlatform.load(home: home) }
        #expect(error?.code == .notInitialized && error?.message.contains("enclava sim init --force") == true)
        #expect(try SimulatedPlatform.load(home: home).simulatedRoots().count == 1)

        // Several first users at once agree on one hierarchy.
        let results = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            let root = (try? SimulatedIntelPlatform.loadOrCreate(home: home)).map { Hex.encode($0.root.sha256Fingerprint) }
            results.withLock { $0.append(root ?? "failed") }
        }
        let roots = results.withLock { $0 }
        #expect(roots.count == 4 && Set(roots).count == 1 && !roots.contains("failed"), "\(roots)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: sim).filter { $0.hasPrefix(".") } == [])
        #expect(try SimulatedPlatform.load(home: home).rootFingerprint(for: .tdx) == roots[0])
        #expect(try SimulatedPlatform.load(home: home).rootFingerprint(for: .snp)
            == Hex.encode(try SimFixture.platform().ark.sha256Fingerprint))
    }

    @Test func aHomeWithoutTheSNPPartIsNotGivenAnIntelPart() throws {
        let home = try makeTemporaryDirectory("enclava-sim-none")
        defer { try? FileManager.default.removeItem(atPath: home) }
        let error = #expect(throws: SimulatedPlatformError.self) { try SimulatedIntelPlatform.loadOrCreate(home: home) }
        #expect(error?.code == .notInitialized)
        #expect(!FileManager.default.fileExists(atPath: home + "/sim"))
    }

    @Test func aReadableIntelFolderOrKeyIsRefused() throws {
        let source = try SimFixture.platform().directory
        let home = try makeTemporaryDirectory("enclava-sim-perm")
        defer { try? FileManager.default.removeItem(atPath: home) }
        try FileManager.default.copyItem(atPath: source, toPath: home + "/sim")
        let intel = home + "/sim/intel"
        #expect(chmod(intel + "/pck-key.pem", 0o644) == 0)
        let error = #expect(throws: SimulatedPlatformError.self) { try SimulatedIntelPlatform.load(home: home) }
        #expect(error?.code == .insecurePermissions && error?.message.contains("chmod 600") == true)
    }

    @Test func formatsParseAndMeasure() throws {
        #expect(try SimulatedPlatform.EvidenceFormat(parsing: "TDX") == .tdx)
        #expect(SimulatedPlatform.EvidenceFormat.sgx.platform == .sgx && SimulatedPlatform.EvidenceFormat.snp.platform == .sevSNP)
        let error = #expect(throws: SimulatedPlatformError.self) { try SimulatedPlatform.EvidenceFormat(parsing: "nitro") }
        #expect(error?.message.contains("snp, tdx, sgx") == true)
        let path = try makeTemporaryDirectory("enclava-sim-exe") + "/exe"
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        try Data("runtime".utf8).write(to: URL(fileURLWithPath: path))
        #expect(try SimulatedPlatform.EvidenceFormat.sgx.measurement(ofExecutableAt: path) == SHA2.sha256(Array("runtime".utf8)))
        // TDX: MRTD is the fixed simulated firmware; the runtime is extended into RTMR1 (RTMR0 firmware
        // configuration, RTMR2 the command line, RTMR3 zero), so MRTD alone does not tell runtimes apart.
        let tdx = SimulatedPlatform.EvidenceFormat.tdx
        #expect(try tdx.measurement(ofExecutableAt: path) == SimulatedTDXRegisters.firmwareMRTD)
        let registers = try tdx.tdxRegisters(ofExecutableAt: path)
        let zero = [UInt8](repeating: 0, count: 48)
        #expect(registers.mrTD == SHA2.sha384(Array("Enclava simulated TDVF v1".utf8)))
        #expect(registers.rtmrs[0] == SHA2.sha384(zero + SHA2.sha384(Array("Enclava simulated TD configuration v1".utf8))))
        #expect(registers.rtmrs[1] == SHA2.sha384(zero + SHA2.sha384(Array("runtime".utf8))))
        #expect(registers.rtmrs[2] == SHA2.sha384(zero + SHA2.sha384(Array("enclava-runtime --backend sim --sim-format tdx".utf8))))
        #expect(registers.rtmrs[3] == zero)
        try Data("another runtime".utf8).write(to: URL(fileURLWithPath: path))
        let other = try tdx.tdxRegisters(ofExecutableAt: path)
        #expect(other.mrTD == registers.mrTD && other.rtmrs[0] == registers.rtmrs[0] && other.rtmrs[2] == registers.rtmrs[2])
        #expect(other.rtmrs[1] != registers.rtmrs[1])
        var policy = AttestationPolicy(allowedPlatforms: [.tdx])
        try tdx.pin(runtimeAt: path, in: &policy)
        #expect(policy.expectedMRTD == [Hex.encode(other.mrTD)] && policy.expectedMeasurements == [Hex.encode(other.mrTD)])
        #expect(policy.expectedRTMRs == ["0": [Hex.encode(other.rtmrs[0])], "1": [Hex.encode(other.rtmrs[1])], "2": [Hex.encode(other.rtmrs[2])]])
    }
}
