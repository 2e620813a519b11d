import EnclavaCrypto
import Foundation

/// What a client accepts from an enclave: the `P.json` file that `enclava policy create` writes.
///
/// Keys are snake_case. Unknown keys are refused (a misspelt key must not silently relax a check), and
/// every digest must be hex. An empty `expected_measurements` or `expected_manifest_digests` list accepts
/// **nothing**: a policy has to pin what it trusts.
///
/// ```json
/// { "allowed_platforms": ["sev-snp"], "allow_simulation": true, "allow_debug": false,
///   "expected_measurements": ["…96 hex…"], "expected_manifest_digests": ["…96 hex…"],
///   "simulated_root_fingerprints": ["…64 hex…"] }
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
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Decodes a policy, refusing unknown keys and non-hex digests. Missing keys take the safe defaults.
    public init(from decoder: any Decoder) throws {
        let raw = try decoder.container(keyedBy: AnyKey.self)
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        if let unknown = raw.allKeys.map(\.stringValue).sorted().first(where: { !known.contains($0) }) {
            throw AttestationError(
                .invalidPolicy, field: unknown,
                "unknown policy key `\(unknown)`; the known keys are \(known.sorted().joined(separator: ", "))")
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        allowedPlatforms = try c.decodeIfPresent([EvidencePlatform].self, forKey: .allowedPlatforms) ?? [.sevSNP]
        allowSimulation = try c.decodeIfPresent(Bool.self, forKey: .allowSimulation) ?? false
        allowDebug = try c.decodeIfPresent(Bool.self, forKey: .allowDebug) ?? false
        expectedMeasurements = try Self.hexList(c, .expectedMeasurements)
        expectedManifestDigests = try Self.hexList(c, .expectedManifestDigests)
        simulatedRootFingerprints = try Self.hexList(c, .simulatedRootFingerprints, byteCount: 32)
    }

    private static func hexList(
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
