import EnclavaAttestation
import EnclavaClient
import EnclavaCrypto
import EnclavaWire
import EnclavePlatform
import Foundation
import Testing
@testable import EnclaveRuntime

/// A simulated TD whose quotes come from a quoting enclave the host runs (foreign MRSIGNER) yet certified by
/// the platform's genuine PCK: what a host that controls provisioning-key access can do.
struct ForeignQuotingEnclavePlatform: TEEPlatform {
    let base: SimPlatform
    let quoter: SimulatedIntelQuoter
    let collateral: EvidenceCollateral?
    var backend: String { base.backend }
    var measurement: [UInt8] { base.measurement }
    var isSimulated: Bool { true }
    func evidence(reportData: [UInt8]) throws -> Evidence {
        let registers = base.tdxRegisters
        let quote = try quoter.tdxQuote(mrTD: registers.mrTD, rtmrs: registers.rtmrs, reportData: reportData)
        return Evidence(platform: .tdx, blob: quote, certificates: [], collateral: collateral)
    }
    func sealingKey(purpose: String) throws -> SecureBytes { try base.sealingKey(purpose: purpose) }
}

/// `--sim-format tdx` end to end in this process: a TDX session opens only with complete Intel collateral —
/// relayed by the host or held by the client — and never when the host withholds or garbles it, or runs its
/// own quoting enclave. (Before: the same session opened, with a full inference, when the host dropped it.)
@Suite(.serialized) struct IntelCollateralSessionTests {
    let world: EndToEndWorld
    let home: String
    let tdx: SimPlatform
    let intel: SimulatedIntelPlatform

    init() throws {
        world = try EndToEndWorld.shared.get()
        home = world.directory + "/home"
        tdx = try SimPlatform(home: home, format: .tdx)
        intel = try SimulatedIntelPlatform.load(home: home)
    }

    /// The session policy `enclava policy create --sim-format tdx` writes: MRTD and RTMR0–2, the image, the root.
    var policy: AttestationPolicy {
        var policy = AttestationPolicy(
            allowedPlatforms: [.tdx], allowSimulation: true, expectedManifestDigests: [Hex.encode(world.manifestDigest)],
            simulatedRootFingerprints: [Hex.encode(intel.root.sha256Fingerprint)])
        tdx.tdxRegisters.pin(in: &policy)
        return policy
    }

    func connect(_ endpoint: TTRPCEndpoint, cache: QuoteCollateralCache? = nil,
                 rewrite: @escaping @Sendable (inout Enclava_V1_GetEvidenceResponse) -> Void = { _ in }) async throws -> ConfidentialSession {
        let transport = TamperingTransport(inner: try await TTRPCClient.connect(to: endpoint), rewriteEvidence: rewrite)
        do {
            return try await ConfidentialSession.connect(
                using: transport, policy: policy,
                verifier: EvidenceVerifier(simulatedRoots: [intel.root], intelCollateral: IntelCollateralSource(cache: cache)))
        } catch {
            await transport.close()
            throw error
        }
    }

    func refusal(_ body: () async throws -> Void) async -> AttestationError? {
        do {
            try await body()
            Issue.record("the session opened")
        } catch let error as ClientError {
            #expect(error.code == .attestationFailed, "\(error)")
            return error.attestationError
        } catch {
            Issue.record("unexpected \(error)")
        }
        return nil
    }

    func inferGolden(_ session: ConfidentialSession) async throws {
        let golden = try Golden.load()
        let outputs = try await session.infer(golden.inputs)
        for (name, expected) in golden.outputs {
            let actual = try #require(outputs[name])
            let got = try #require(TensorJSON.floats(of: actual))
            let want = try #require(TensorJSON.floats(of: expected))
            #expect(got.count == want.count)
            for (a, b) in zip(got, want) { #expect(abs(a - b) <= 1e-5, "\(name): \(a) vs \(b)") }
        }
    }

    @Test func withTheHostsCollateralTheSessionOpensAndInfers() async throws {
        let (runtime, endpoint) = try await world.startRuntime(platform: tdx)
        let session = try await connect(endpoint)
        #expect(session.verifiedEvidence.platform == .tdx && session.verifiedEvidence.isSimulated)
        #expect(session.verifiedEvidence.measurement == SimulatedTDXRegisters.firmwareMRTD)
        #expect(session.verifiedEvidence.claims.contains { $0.0 == "tcb status" && $0.1 == "UpToDate" })
        try await inferGolden(session)
        await session.close()
        await runtime.shutdown()
    }

    /// The host withholds the collateral: refused (it used to verify "without TCB status" and infer).
    @Test func whenTheHostDropsTheCollateralTheSessionIsRefused() async throws {
        let (runtime, endpoint) = try await world.startRuntime(platform: tdx)
        let error = await refusal { _ = try await connect(endpoint) { $0.collateral = Data() } }
        #expect(error?.code == .collateralMissing && error?.field == "collateral" && error?.actual == "none")
        #expect(error?.message.contains(Hex.encode(SimulatedIntelPlatform.Identity.fmspc)) == true)
        await runtime.shutdown()
    }

    /// The client's own cache replaces what the host withholds: the session opens and infers.
    @Test func theClientsCollateralCacheStandsInForTheHosts() async throws {
        let folder = try makeTemporaryDirectory("enclava-collateral-cache")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let cache = QuoteCollateralCache(directory: folder)
        let (runtime, endpoint) = try await world.startRuntime(platform: tdx)
        // An empty cache: still refused, and the message names the file it looked for.
        let empty = await refusal { _ = try await connect(endpoint, cache: cache) { $0.collateral = Data() } }
        #expect(empty?.code == .collateralMissing)
        #expect(empty?.message.contains("tdx-\(Hex.encode(SimulatedIntelPlatform.Identity.fmspc)).json") == true)
        let entry = try cache.store(try intel.collateral(for: .tdx))
        #expect(entry.kind == .tdx && entry.fmspc == SimulatedIntelPlatform.Identity.fmspc)
        let session = try await connect(endpoint, cache: cache) { $0.collateral = Data() }
        try await inferGolden(session)
        await session.close()
        await runtime.shutdown()
    }

    /// Partial (each part left out of the relayed JSON) or another platform's collateral: refused.
    @Test func partialOrForeignCollateralIsRefused() async throws {
        let (runtime, endpoint) = try await world.startRuntime(platform: tdx)
        let json = try JSONSerialization.jsonObject(with: Data(try intel.collateral(for: .tdx).dcapQVLJSON)) as! [String: String]
        for key in json.keys.sorted() {
            var partial = json
            partial.removeValue(forKey: key)
            let bytes = try JSONSerialization.data(withJSONObject: partial)
            let error = await refusal { _ = try await connect(endpoint) { $0.collateral = bytes } }
            #expect(error?.code == .collateralMissing && error?.actual?.contains("`\(key)`") == true, "\(key): \(String(describing: error))")
        }
        let sgx = Data(try intel.collateral(for: .sgx).dcapQVLJSON)
        let foreign = await refusal { _ = try await connect(endpoint) { $0.collateral = sgx } }
        #expect(foreign?.code == .collateralInvalid && foreign?.field == "TCB Info id")
        await runtime.shutdown()
    }

    /// A host-run quoting enclave certified by the genuine PCK: refused by the QE Identity with collateral, and
    /// refused for the missing collateral when the host withholds it.
    @Test func aForeignQuotingEnclaveIsRefusedWithOrWithoutCollateral() async throws {
        let foreignSigner = SHA2.sha256(Array("a quoting enclave the host built".utf8))
        let quoter = try SimulatedIntelQuoter(platform: intel, qeMRSigner: foreignSigner)
        for collateral in [EvidenceCollateral(quote: try intel.collateral(for: .tdx)), nil] {
            let platform = ForeignQuotingEnclavePlatform(base: tdx, quoter: quoter, collateral: collateral)
            let (runtime, endpoint) = try await world.startRuntime(platform: platform)
            let error = await refusal { _ = try await connect(endpoint) }
            if collateral == nil {
                #expect(error?.code == .collateralMissing)
            } else {
                #expect(error?.code == .qeIdentityMismatch && error?.field == "QE_REPORT.MRSIGNER")
                #expect(error?.actual == Hex.encode(foreignSigner))
            }
            await runtime.shutdown()
        }
    }

    /// A policy that pins MRTD alone (as `policy create --sim-format tdx` wrote before): refused before any
    /// request, with the reason.
    @Test func anMRTDOnlyPolicyOpensNoSession() async throws {
        let (runtime, endpoint) = try await world.startRuntime(platform: tdx)
        var mrtdOnly = policy
        mrtdOnly.expectedRTMRs = [:]
        let transport = try await TTRPCClient.connect(to: endpoint)
        let error = await refusal {
            _ = try await ConfidentialSession.connect(using: transport, policy: mrtdOnly,
                                                      verifier: EvidenceVerifier(simulatedRoots: [intel.root]))
        }
        #expect(error?.code == .invalidPolicy && error?.actual == "not pinned: RTMR0, RTMR1, RTMR2")
        await transport.close()
        await runtime.shutdown()
    }
}
