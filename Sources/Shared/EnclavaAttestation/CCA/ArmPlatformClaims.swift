import EnclavaCrypto

/// The claims of an Arm platform token: the CCA platform token (signed by the CPAK) or a PSA initial
/// attestation token (signed by the IAK), whose claims overlap. Parsed strictly; every claim Enclava uses is
/// required and bounded. Values are untrusted until ``EvidenceVerifier`` has checked the signature.
public struct ArmPlatformClaims: Sendable, Equatable {
    /// Which profile the claims follow.
    public enum Profile: String, Sendable, Equatable {
        /// Arm CCA platform token (`http://arm.com/CCA-SSD/1.0.0` or `tag:arm.com,2023:cca_platform#1.0.0`).
        case ccaPlatform
        /// PSA attestation token 2.0 (`http://arm.com/psa/2.0.0` or `tag:psacertified.org,2023:psa#tfm`).
        case psa2
        /// The older PSA_IOT_PROFILE_1 encoding with negative claim keys.
        case psaIoT1
    }

    /// The profile claim as sent.
    public let profileName: String
    /// The profile.
    public let profile: Profile
    /// The challenge (CCA: the hash of the realm's RAK; PSA: the verifier's nonce).
    public let challenge: [UInt8]
    /// The instance id (UEID) that names the attestation key: the CPAK (CCA) or IAK (PSA).
    public let instanceID: [UInt8]
    /// The implementation id (the platform's immutable root of trust).
    public let implementationID: [UInt8]
    /// The security lifecycle.
    public let lifecycle: ArmLifecycle
    /// The measured software components.
    public let softwareComponents: [ArmSoftwareComponent]
    /// The verification service indicator, if given.
    public let verificationService: String?
    /// CCA: the platform configuration bytes.
    public let platformConfig: [UInt8]?
    /// CCA: the hash algorithm of the platform's measurements ("sha-256").
    public let hashAlgorithm: String?
    /// PSA: the client id of the caller.
    public let clientID: Int64?
    /// PSA: the boot seed.
    public let bootSeed: [UInt8]?
    /// PSA: the certification reference.
    public let certificationReference: String?

    static let ccaProfiles = ["http://arm.com/CCA-SSD/1.0.0", "tag:arm.com,2023:cca_platform#1.0.0"]
    static let psaProfiles = ["http://arm.com/psa/2.0.0", "tag:psacertified.org,2023:psa#tfm"]
    static let psaIoTProfile = "PSA_IOT_PROFILE_1"

    /// Claim keys, by profile.
    private struct Keys {
        let profile, challenge, instanceID, implementationID, lifecycle, components, service: Int64
        static let standard = Keys(
            profile: 265, challenge: 10, instanceID: 256, implementationID: 2396, lifecycle: 2395, components: 2399,
            service: 2400)
        static let iot = Keys(
            profile: -75000, challenge: -75008, instanceID: -75009, implementationID: -75003, lifecycle: -75002,
            components: -75006, service: -75010)
    }

    /// Parses a CCA platform token's payload (`psa` false) or a PSA token's payload (`psa` true).
    init(payload: [UInt8], part: String, psa: Bool, format: String) throws(AttestationError) {
        let map = try ArmClaimMap(payload, part: part, format: format)
        let isIoT = psa && map.has(Keys.iot.profile)
        let keys = isIoT ? Keys.iot : Keys.standard
        profileName = try map.text(keys.profile, "profile")
        let accepted = psa ? (isIoT ? [Self.psaIoTProfile] : Self.psaProfiles) : Self.ccaProfiles
        guard accepted.contains(profileName) else {
            throw map.malformed("profile", expected: accepted.joined(separator: " or "), actual: profileName,
                                "names a profile this verifier does not know")
        }
        profile = psa ? (isIoT ? .psaIoT1 : .psa2) : .ccaPlatform
        challenge = try map.bytes(keys.challenge, "challenge", sizes: [32, 48, 64])
        instanceID = try map.bytes(keys.instanceID, "instance_id", sizes: [17, 25, 33])
        guard instanceID[0] == 0x01 else {
            throw map.malformed("instance_id", expected: "a RAND UEID (type byte 0x01)", actual: Hex.encode(instanceID),
                                "is not a random UEID")
        }
        implementationID = try map.bytes(keys.implementationID, "implementation_id", sizes: [32])
        lifecycle = ArmLifecycle(value: UInt16(try map.unsigned(keys.lifecycle, "lifecycle", max: 0xFFFF)))
        softwareComponents = try ArmSoftwareComponent.list(map, key: keys.components)
        verificationService = try map.optionalText(keys.service, "verification_service")
        if psa {
            platformConfig = nil
            hashAlgorithm = nil
            clientID = try map.integer(isIoT ? -75001 : 2394, "client_id")
            bootSeed = try map.optionalBytes(isIoT ? -75004 : 2397, "boot_seed", sizes: [8, 16, 32])
            certificationReference = try map.optionalText(isIoT ? -75005 : 2398, "certification_reference")
        } else {
            platformConfig = try map.bytes(2401, "config", sizes: Set(1...1024))
            hashAlgorithm = try map.text(2402, "hash_algo_id", maxLength: 32)
            clientID = nil
            bootSeed = nil
            certificationReference = nil
        }
    }
}
