import EnclavaCrypto
import Foundation

/// One image a policy pins by name: `"models": {"NAME": {"manifest_digest": "…96 hex…", "measurements": […]}}`.
public struct PinnedModel: Codable, Sendable, Equatable {
    /// The image's manifest digest, hex (48 bytes).
    public var manifestDigest: String
    /// Measurements accepted for this image's enclave, hex; empty: the policy's `expected_measurements` decide.
    public var measurements: [String]

    /// Pins an image by its manifest digest (and optionally its own measurements).
    public init(manifestDigest: String, measurements: [String] = []) {
        self.manifestDigest = manifestDigest
        self.measurements = measurements
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case manifestDigest = "manifest_digest"
        case measurements = "measurements"
    }

    /// Decodes an entry, refusing unknown keys and hex of the wrong size.
    public init(from decoder: any Decoder) throws {
        try StrictKeys.refuseUnknown(in: decoder, known: CodingKeys.self, object: "models")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let digest = try c.decode(String.self, forKey: .manifestDigest)
        guard let bytes = Hex.decode(digest), bytes.count == 48 else {
            throw AttestationError(.invalidPolicy, field: "models.manifest_digest", actual: digest,
                                   "`models` entries pin a `manifest_digest` of 48 bytes in hex (`enclava measure` prints it)")
        }
        manifestDigest = Hex.encode(bytes)
        measurements = try (c.decodeIfPresent([String].self, forKey: .measurements) ?? []).map { value in
            guard let bytes = Hex.decode(value), !bytes.isEmpty else {
                throw AttestationError(.invalidPolicy, field: "models.measurements", actual: value,
                                       "`models` entries' `measurements` must be hex strings")
            }
            return Hex.encode(bytes)
        }
    }
}

extension AttestationPolicy {
    /// The longest model name a policy pins, in UTF-8 bytes (the bridge's limit too).
    public static let maxModelNameBytes = 128

    /// Checks that names are 1…``maxModelNameBytes`` bytes. A name never widens what the policy accepts: the
    /// verifier checks `expected_manifest_digests` first, and a name only narrows that to its own entry (an entry
    /// whose digest is not accepted there can never be met).
    func checkModelPins() throws {
        guard let models else { return }
        for name in models.keys {
            guard !name.isEmpty, name.utf8.count <= Self.maxModelNameBytes else {
                throw AttestationError(.invalidPolicy, field: "models", actual: String(name.prefix(40)),
                                       "`models` names are 1…\(Self.maxModelNameBytes) bytes (an image's [image] name)")
            }
        }
    }

    /// The model names this policy pins, sorted (for messages).
    public var pinnedModelNames: [String] { (models ?? [:]).keys.sorted() }

    /// The entry for the model `name`.
    /// - Throws: ``AttestationError`` `modelNotPinned` when the policy has no entry for `name`.
    @discardableResult
    public func requireModel(_ name: String) throws -> PinnedModel {
        guard let pin = models?[name] else {
            let known = pinnedModelNames
            throw AttestationError(.modelNotPinned, field: "models", actual: name,
                                   known.isEmpty
                                       ? "the policy pins no model names, so it cannot tell whether this enclave runs `\(name)`; "
                                           + "write it with `enclava policy create --image \(name).eimg …`"
                                       : "the policy pins no model named `\(name)` (it pins \(known.joined(separator: ", "))); "
                                           + "add its image with `enclava policy create --image …`")
        }
        return pin
    }

    /// Checks that `evidence` (already verified against this policy) is the image this policy pins for the model
    /// `name`: its manifest digest is that entry's, and its measurement one of the entry's when it lists some.
    ///
    /// - Throws: ``AttestationError`` `modelNotPinned` when the policy has no entry for `name`, `modelMismatch`
    ///   when the enclave runs another image (a host routing one model's calls to another).
    public func checkModel(_ name: String, in evidence: VerifiedEvidence) throws {
        let pin = try requireModel(name)
        let digest = Hex.encode(evidence.manifestDigest)
        guard digest == pin.manifestDigest else {
            let actualName = models?.first { $0.value.manifestDigest == digest }?.key
            throw AttestationError(.modelMismatch, field: "manifest_digest", expected: pin.manifestDigest, actual: digest,
                                   "asked for model `\(name)` but the enclave runs "
                                       + (actualName.map { "`\($0)`" } ?? "another image")
                                       + "; the host routed the call to the wrong enclave: nothing was sent, do not trust this host")
        }
        let measurement = Hex.encode(evidence.measurement)
        guard pin.measurements.isEmpty || pin.measurements.contains(measurement) else {
            throw AttestationError(.modelMismatch, field: "measurement", expected: pin.measurements.joined(separator: ","),
                                   actual: measurement,
                                   "the enclave for model `\(name)` has a measurement the policy does not pin for it; "
                                       + "nothing was sent, check the host's launch of that model")
        }
    }
}
