import EnclavaCrypto
import Foundation

/// What a client accepts from an enclave: the `P.json` file that `enclava policy create` writes.
///
/// Keys are snake_case. Unknown keys are refused (a misspelt key must not silently relax a check), and
/// every digest must be hex of the right size. Missing keys take the safe defaults.
///
/// Two uses:
/// * **Enclava sessions** (``EvidenceVerifier/verify(_:nonce:manifestDigest:hpkePublicKey:policy:at:)``):
///   `expected_measurements` and `expected_manifest_digests` must both pin something — an empty list accepts
///   **nothing**.
/// * **Raw hardware evidence** (``EvidenceVerifier/verifyEvidence(_:policy:at:)``, `enclava verify-evidence`):
///   no report-data binding and no manifest; every pin that is empty is simply not checked.
///
/// Each hardware pin applies to the platform whose evidence has that field: `expected_mrtd` and
/// `expected_rtmrs` to TDX, `expected_mrenclave`/`expected_mrsigner` to SGX, `expected_pcrs` to Nitro,
/// `minimum_tcb` SNP keys to SEV-SNP and `isv_svn` to SGX; `allowed_platforms` decides which platforms are
/// accepted at all. `expected_measurements` pins each platform's primary measurement (SNP MEASUREMENT, TDX
/// MRTD, SGX MRENCLAVE, Nitro PCR0).
///
/// **TCB status default.** Intel collateral gives a TCB status. By default `UpToDate` and `SWHardeningNeeded`
/// are accepted: SWHardeningNeeded means the platform is fully patched and the listed advisories ask the
/// *enclave software* for mitigations (e.g. INTEL-SA-00615 on nearly every current Xeon), so refusing it would
/// refuse most up-to-date hardware; OutOfDate, ConfigurationNeeded and Revoked are refused. A stricter client
/// sets `"allowed_tcb_statuses": ["UpToDate"]`. Intel evidence verifies only with its collateral, so it always
/// has a status: `require_tcb_status` (from older policies) is still read but redundant.
///
/// **TDX session policies** (those that pin `expected_manifest_digests`) must pin MRTD and RTMR0–2, or they are
/// refused when loaded (``checkTDXSessionPins()``): MRTD alone identifies only the TD firmware.
///
/// ```json
/// { "allowed_platforms": ["sev-snp", "tdx"], "allow_simulation": true, "allow_debug": false,
///   "expected_measurements": ["…96 hex…"], "expected_manifest_digests": ["…96 hex…"],
///   "simulated_root_fingerprints": ["…64 hex…"], "expected_mrtd": ["…96 hex…"],
///   "expected_rtmrs": {"0": ["…"], "1": ["…"], "2": ["…96 hex…"]},
///   "minimum_tcb": {"bootloader": 3, "snp": 8, "microcode": 115}, "allowed_tcb_statuses": ["UpToDate"] }
/// ```
public struct AttestationPolicy: Codable, Sendable, Equatable {
    /// Platforms whose evidence is accepted.
    public var allowedPlatforms: [EvidencePlatform]
    /// Whether evidence under a simulated root is accepted (never for production).
    public var allowSimulation: Bool
    /// Whether a guest whose policy allows debugging is accepted (never for production).
    public var allowDebug: Bool
    /// Accepted measurements, hex (SEV-SNP: 48 bytes, the SHA-384 of the runtime in simulation).
    public var expectedMeasurements: [String]
    /// Accepted manifest digests, hex (48 bytes, SHA-384; `enclava measure` prints it).
    public var expectedManifestDigests: [String]
    /// SHA-256 fingerprints (hex) of trusted simulated ARKs. When empty and simulation is allowed, the
    /// verifier trusts the simulated roots it was created with (the local `$ENCLAVA_HOME` ARK).
    public var simulatedRootFingerprints: [String]
    /// Accepted TDX MRTDs, hex (48 bytes). Empty: not pinned.
    public var expectedMRTD: [String] = []
    /// Accepted TDX RTMR values by index ("0"…"3"), hex (48 bytes each).
    public var expectedRTMRs: [String: [String]] = [:]
    /// Accepted SGX MRENCLAVEs, hex (32 bytes).
    public var expectedMREnclave: [String] = []
    /// Accepted SGX MRSIGNERs, hex (32 bytes).
    public var expectedMRSigner: [String] = []
    /// Accepted Nitro PCR values by index ("0"…"31"), hex (48 bytes each).
    public var expectedPCRs: [String: [String]] = [:]
    /// Arm CCA CPAK / PSA IAK public keys (PEM) by platform instance id (hex): the only trust anchors of Arm
    /// evidence (there is no public Arm root). Empty: every CCA and PSA token is refused (`UNTRUSTED_ROOT`).
    public var armCPAKs: [String: String] = [:]
    /// Accepted CCA realm initial measurements (RIM), hex (32 or 64 bytes).
    public var expectedCCARIM: [String] = []
    /// Accepted CCA realm extensible measurements by index ("0"…"3"), hex (32 or 64 bytes).
    public var expectedCCAREMs: [String: [String]] = [:]
    /// Accepted CCA realm personalization values (RPV), hex (64 bytes).
    public var expectedCCARPV: [String] = []
    /// Accepted Arm platform software component measurements by component type ("BL", "SPE", …), hex.
    public var expectedArmSoftwareComponents: [String: [String]] = [:]
    /// Minimum security versions; nil checks none.
    public var minimumTCB: MinimumTCB?
    /// Intel TCB statuses accepted (default UpToDate and SWHardeningNeeded); the collateral every Intel quote
    /// needs gives the status.
    public var allowedTCBStatuses: [TCBStatus] = AttestationPolicy.defaultTCBStatuses
    /// Redundant: Intel evidence is refused without collateral, so its TCB status is always computed. Still
    /// read from (and written to) policy files so that older ones load.
    public var requireTCBStatus = false
    /// The images this policy accepts, by their `[image] name` (`enclava policy create --image a --image b`): a
    /// client that names a model (`--model NAME`) accepts only the enclave whose manifest digest is that name's
    /// entry, so a host cannot answer a call for one model with another. `nil`: no names (an older policy).
    public var models: [String: PinnedModel]?

    /// The TCB statuses accepted when a policy does not say.
    public static let defaultTCBStatuses: [TCBStatus] = [.upToDate, .swHardeningNeeded]

    /// Creates a policy. The defaults accept nothing until measurements and digests are pinned.
    public init(
        allowedPlatforms: [EvidencePlatform] = [.sevSNP], allowSimulation: Bool = false, allowDebug: Bool = false,
        expectedMeasurements: [String] = [], expectedManifestDigests: [String] = [],
        simulatedRootFingerprints: [String] = []
    ) {
        self.allowedPlatforms = allowedPlatforms
        self.allowSimulation = allowSimulation
        self.allowDebug = allowDebug
        self.expectedMeasurements = expectedMeasurements
        self.expectedManifestDigests = expectedManifestDigests
        self.simulatedRootFingerprints = simulatedRootFingerprints
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case allowedPlatforms = "allowed_platforms"
        case allowSimulation = "allow_simulation"
        case allowDebug = "allow_debug"
        case expectedMeasurements = "expected_measurements"
        case expectedManifestDigests = "expected_manifest_digests"
        case simulatedRootFingerprints = "simulated_root_fingerprints"
        case expectedMRTD = "expected_mrtd"
        case expectedRTMRs = "expected_rtmrs"
        case expectedMREnclave = "expected_mrenclave"
        case expectedMRSigner = "expected_mrsigner"
        case expectedPCRs = "expected_pcrs"
        case armCPAKs = "arm_cpaks"
        case expectedCCARIM = "expected_cca_rim"
        case expectedCCAREMs = "expected_cca_rems"
        case expectedCCARPV = "expected_cca_rpv"
        case expectedArmSoftwareComponents = "expected_arm_sw_components"
        case minimumTCB = "minimum_tcb"
        case allowedTCBStatuses = "allowed_tcb_statuses"
        case requireTCBStatus = "require_tcb_status"
        case models = "models"
    }

    /// Decodes a policy, refusing unknown keys and non-hex digests, and a TDX session policy that does not pin
    /// MRTD and RTMR0–2. Missing keys take the safe defaults.
    public init(from decoder: any Decoder) throws {
        try StrictKeys.refuseUnknown(in: decoder, known: CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        allowedPlatforms = try c.decodeIfPresent([EvidencePlatform].self, forKey: .allowedPlatforms) ?? [.sevSNP]
        allowSimulation = try c.decodeIfPresent(Bool.self, forKey: .allowSimulation) ?? false
        allowDebug = try c.decodeIfPresent(Bool.self, forKey: .allowDebug) ?? false
        expectedMeasurements = try Self.hexList(c, .expectedMeasurements)
        expectedManifestDigests = try Self.hexList(c, .expectedManifestDigests)
        simulatedRootFingerprints = try Self.hexList(c, .simulatedRootFingerprints, byteCount: 32)
        expectedMRTD = try Self.hexList(c, .expectedMRTD, byteCount: 48)
        expectedRTMRs = try Self.indexedHex(c, .expectedRTMRs, indices: 0...3, byteCount: 48)
        expectedMREnclave = try Self.hexList(c, .expectedMREnclave, byteCount: 32)
        expectedMRSigner = try Self.hexList(c, .expectedMRSigner, byteCount: 32)
        expectedPCRs = try Self.indexedHex(c, .expectedPCRs, indices: 0...31, byteCount: 48)
        try decodeArm(c)
        minimumTCB = try c.decodeIfPresent(MinimumTCB.self, forKey: .minimumTCB)
        allowedTCBStatuses = try c.decodeIfPresent([TCBStatus].self, forKey: .allowedTCBStatuses) ?? Self.defaultTCBStatuses
        guard !allowedTCBStatuses.isEmpty else {
            throw AttestationError(
                .invalidPolicy, field: CodingKeys.allowedTCBStatuses.rawValue,
                "`allowed_tcb_statuses` is empty, so no Intel platform could pass; list at least \"UpToDate\" or "
                    + "leave the key out for the default")
        }
        requireTCBStatus = try c.decodeIfPresent(Bool.self, forKey: .requireTCBStatus) ?? false
        models = try c.decodeIfPresent([String: PinnedModel].self, forKey: .models)
        try checkModelPins()
        if isSessionPolicy { try checkTDXSessionPins() }
    }

    static func indexedHex(
        _ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys, indices: ClosedRange<Int>, byteCount: Int?
    ) throws -> [String: [String]] {
        let raw = try c.decodeIfPresent([String: [String]].self, forKey: key) ?? [:]
        var result: [String: [String]] = [:]
        for (index, values) in raw {
            guard let number = Int(index), indices.contains(number), String(number) == index else {
                throw AttestationError(
                    .invalidPolicy, field: key.rawValue, expected: "an index \(indices.lowerBound)…\(indices.upperBound)",
                    actual: index, "`\(key.rawValue)` keys are register numbers \(indices.lowerBound)…\(indices.upperBound)")
            }
            result[index] = try values.map { value in
                guard let bytes = Hex.decode(value), !bytes.isEmpty, byteCount.map({ $0 == bytes.count }) ?? true else {
                    throw AttestationError(
                        .invalidPolicy, field: "\(key.rawValue).\(index)", actual: value,
                        "`\(key.rawValue)` values must be hex strings" + (byteCount.map { " of \($0) bytes" } ?? ""))
                }
                return Hex.encode(bytes)
            }
        }
        return result
    }

    static func hexList(
        _ c: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys, byteCount: Int? = nil
    ) throws -> [String] {
        let values = try c.decodeIfPresent([String].self, forKey: key) ?? []
        return try values.map { value in
            guard let bytes = Hex.decode(value), !bytes.isEmpty, byteCount.map({ $0 == bytes.count }) ?? true else {
                throw AttestationError(
                    .invalidPolicy, field: key.rawValue, actual: value,
                    "`\(key.rawValue)` must hold hex strings" + (byteCount.map { " of \($0) bytes" } ?? ""))
            }
            return Hex.encode(bytes)
        }
    }

    /// Reads a policy file.
    /// - Throws: ``AttestationError`` with code `invalidPolicy`, naming the file and the problem.
    public static func load(path: String) throws -> AttestationPolicy {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw AttestationError(
                .invalidPolicy, field: path,
                "cannot read the policy file \(path); create one with `enclava policy create`")
        }
        do {
            return try JSONDecoder().decode(AttestationPolicy.self, from: data)
        } catch let error as AttestationError {
            throw AttestationError(
                error.code, field: error.field, expected: error.expected, actual: error.actual,
                "\(path): \(error.message)")
        } catch {
            throw AttestationError(
                .invalidPolicy, field: path, "\(path) is not a valid policy JSON file: \(Self.describe(error))")
        }
    }

    /// Writes the policy as pretty-printed JSON, atomically: a temporary file in the same folder is
    /// written, flushed and renamed over `path`, so a reader never sees a partial policy.
    /// - Throws: ``AttestationError`` with code `invalidPolicy` if the file cannot be written.
    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(self)
        do {
            try AtomicFile.write(Array(data) + [0x0A], to: path, mode: 0o644)
        } catch {
            throw AttestationError(.invalidPolicy, field: path, "cannot write the policy file: \(error)")
        }
    }

    private static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context),
            DecodingError.keyNotFound(_, let context), DecodingError.dataCorrupted(let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? context.debugDescription : "`\(path)`: \(context.debugDescription)"
        default:
            return "\(error)"
        }
    }
}

extension AttestationPolicy {
    /// The expected measurements as bytes (the decoder guarantees they are hex).
    var expectedMeasurementBytes: [[UInt8]] { expectedMeasurements.compactMap(Hex.decode) }
    /// The expected manifest digests as bytes.
    var expectedManifestDigestBytes: [[UInt8]] { expectedManifestDigests.compactMap(Hex.decode) }
    /// The pinned simulated-root fingerprints as bytes.
    var simulatedRootFingerprintBytes: [[UInt8]] { simulatedRootFingerprints.compactMap(Hex.decode) }
}
