import EnclavaAttestation
import EnclavaCrypto
import Foundation

/// `--cpak` and `--endorsements` of `enclava verify-evidence`: the Arm platform keys (CCA CPAK, PSA IAK) to
/// trust, by instance id. There is no public Arm root, so Arm evidence verifies only under a key given here or
/// in the policy's `arm_cpaks`.
extension EvidenceFileFormat {
    /// Adds the keys of `--cpak [INSTANCE_ID=]PEM_FILE` and `--endorsements JSON_FILE` to `policy.armCPAKs`.
    ///
    /// A `--cpak` without an instance id is bound to the instance id the token claims (read unverified; the
    /// signature is then checked under this key, so naming the key is the trust decision). The endorsements file
    /// is a JSON object `{"<instance id hex>": "<PEM public key>", …}`, the shape of the policy's `arm_cpaks`.
    static func addArmKeys(cpaks: [String], endorsements: String?, evidence: Evidence, to policy: inout AttestationPolicy) throws {
        guard !cpaks.isEmpty || endorsements != nil else { return }
        guard evidence.platform == .cca || evidence.platform == .psa else {
            throw CLIError("--cpak and --endorsements apply to cca and psa evidence only")
        }
        if let endorsements {
            let bytes = try read(endorsements, what: "endorsements file")
            guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: String] else {
                throw CLIError("\(endorsements) is not a JSON object mapping instance ids (hex) to PEM public keys")
            }
            for (instance, pem) in object.sorted(by: { $0.key < $1.key }) {
                try add(instance: instance, pem: pem, source: endorsements, to: &policy)
            }
        }
        for argument in cpaks {
            let (instance, path): (String?, String) = argument.firstIndex(of: "=").map {
                (String(argument[..<$0]), String(argument[argument.index(after: $0)...]))
            } ?? (nil, argument)
            let pem = String(decoding: try read(path, what: "CPAK file"), as: UTF8.self)
            let claimed = try instance ?? claimedInstanceID(evidence)
            try add(instance: claimed, pem: pem, source: path, to: &policy)
        }
    }

    private static func add(instance: String, pem: String, source: String, to policy: inout AttestationPolicy) throws {
        guard let id = Hex.decode(instance), [17, 25, 33].contains(id.count) else {
            throw CLIError("\(source): instance id \(instance) is not hex of 17, 25 or 33 bytes")
        }
        guard (try? ECDSAPublicKey(pem: pem)) != nil else {
            throw CLIError("\(source): the key for instance id \(instance) is not a PEM EC P-256 or P-384 public key")
        }
        policy.armCPAKs[Hex.encode(id)] = pem
    }

    /// The instance id the token claims, unverified (only to file the key the user gave under it).
    private static func claimedInstanceID(_ evidence: Evidence) throws -> String {
        do {
            return Hex.encode(try ArmToken(parsing: evidence.blob, psa: evidence.platform == .psa).platform.instanceID)
        } catch {
            throw CLIError("\(error.code.rawValue): \(error.message)")
        }
    }
}
