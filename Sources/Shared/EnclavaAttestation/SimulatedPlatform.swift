import EnclavaCrypto
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The simulated AMD platform that `enclava sim init` creates under `$ENCLAVA_HOME/sim` (mode 0700):
///
/// | file | what |
/// |---|---|
/// | `ark.pem` | self-signed "ARK-Sim (Enclava simulated)", RSA-4096, RSA-PSS SHA-384 like AMD's ARK |
/// | `ask.pem` | "SEV-Sim (Enclava simulated)", RSA-4096, signed by the ARK |
/// | `vcek.pem` | "SEV-VCEK (Enclava simulated)", EC P-384, serial 0, AMD VCEK extensions (product "Milan-Sim", SPLs, hwID) |
/// | `vcek-key.pem` | the VCEK private key (PKCS#8) |
/// | `platform-secret` | 32 random bytes, the root of the simulated sealing keys |
///
/// Every file is mode 0600. The value holds only public certificates; the two secrets are read from disk
/// when ``vcekSigningKey()`` or ``sealingKey(measurement:purpose:)`` need them.
public struct SimulatedPlatform: Sendable {
    /// Product name in the simulated VCEK.
    public static let productName = "Milan-Sim"
    /// Organisation in every simulated certificate's subject; marks the chain as simulated.
    public static let organization = "Enclava simulation"
    /// Salt of the sealing-key derivation.
    public static let sealingSalt = "enclava-sim-sealing-v1"
    /// The folder under `$ENCLAVA_HOME`.
    public static let directoryName = "sim"

    static let arkFile = "ark.pem"
    static let askFile = "ask.pem"
    static let vcekFile = "vcek.pem"
    static let vcekKeyFile = "vcek-key.pem"
    static let secretFile = "platform-secret"
    static let secretByteCount = 32

    /// The `$ENCLAVA_HOME` this platform lives in.
    public let home: String
    /// The simulated AMD root key certificate (self-signed).
    public let ark: Certificate
    /// The simulated AMD signing key certificate (signed by the ARK).
    public let ask: Certificate
    /// The simulated VCEK certificate (signed by the ASK).
    public let vcek: Certificate
    /// The simulated chip id (the VCEK hwID, 64 bytes); simulated reports carry it in `CHIP_ID`.
    public let chipID: [UInt8]
    /// The TCB the VCEK was issued for; simulated reports carry it in `REPORTED_TCB` and `CURRENT_TCB`.
    public let tcb: TCBVersion

    /// `$ENCLAVA_HOME/sim`.
    public var directory: String { Self.directory(home: home) }

    /// The certificate chain as evidence carries it: VCEK, ASK, ARK (DER).
    public var certificateChainDER: [[UInt8]] { [vcek, ask, ark].map(\.derRepresentation) }

    static func directory(home: String) -> String { (home as NSString).appendingPathComponent(directoryName) }

    /// `$ENCLAVA_HOME` if set and non-empty, else `~/.enclava`.
    public static func defaultHome() -> String {
        if let home = ProcessInfo.processInfo.environment["ENCLAVA_HOME"], !home.isEmpty { return home }
        return (NSHomeDirectory() as NSString).appendingPathComponent(".enclava")
    }

    /// Whether a certificate subject names a simulated Enclava certificate.
    static func isSimulatedSubject(_ subject: String) -> Bool {
        subject.contains(organization) || subject.contains("Enclava simulated")
    }

    /// Loads the simulated platform from `home`.
    /// - Throws: ``SimulatedPlatformError`` — `notInitialized` ("run `enclava sim init`") when it is missing,
    ///   `insecurePermissions` when a secret is readable by others, `corrupt` when files do not fit together.
    public static func load(home: String) throws -> SimulatedPlatform {
        let directory = directory(home: home)
        var status = stat()
        guard stat(directory, &status) == 0 else {
            throw SimulatedPlatformError(
                .notInitialized, "no simulated platform at \(directory); run `enclava sim init`")
        }
        guard status.st_mode & S_IFMT == S_IFDIR else {
            throw SimulatedPlatformError(.corrupt, "\(directory) is not a folder; remove it and run `enclava sim init`")
        }
        try checkPrivate(directory, status: status, fix: "chmod 700")
        let ark = try certificate(directory, arkFile)
        let ask = try certificate(directory, askFile)
        let vcek = try certificate(directory, vcekFile)
        for file in [vcekKeyFile, secretFile] {
            let path = (directory as NSString).appendingPathComponent(file)
            guard stat(path, &status) == 0 else {
                throw SimulatedPlatformError(
                    .corrupt, "\(path) is missing; run `enclava sim init --force` to recreate the simulated platform")
            }
            try checkPrivate(path, status: status, fix: "chmod 600")
        }
        let extensions = VCEKExtensions(vcek)
        guard ark.isSelfSigned, ask.issuer == ark.subject, vcek.issuer == ask.subject,
            let chipID = extensions.hwID, chipID.count == 64, let tcb = extensions.tcb
        else {
            throw SimulatedPlatformError(
                .corrupt, "the certificates in \(directory) do not form a simulated ARK → ASK → VCEK chain; "
                    + "run `enclava sim init --force`")
        }
        return SimulatedPlatform(home: home, ark: ark, ask: ask, vcek: vcek, chipID: chipID, tcb: tcb)
    }

    /// The simulated VCEK private key, read from `vcek-key.pem`.
    /// - Throws: ``SimulatedPlatformError`` if the key is unreadable or does not match the VCEK certificate.
    public func vcekSigningKey() throws -> ECDSAPrivateKey {
        let path = (directory as NSString).appendingPathComponent(Self.vcekKeyFile)
        let pem = try Self.readSecret(path, maxBytes: 4096)
        let key: ECDSAPrivateKey
        do {
            key = try ECDSAPrivateKey(pem: String(decoding: pem.unsafeCopyToArray(), as: UTF8.self))
        } catch {
            throw SimulatedPlatformError(.corrupt, "\(path) is not a PEM private key; run `enclava sim init --force`")
        }
        guard key.publicKey.spkiDER == vcek.subjectPublicKeyInfoDER else {
            throw SimulatedPlatformError(.corrupt, "\(path) does not match vcek.pem; run `enclava sim init --force`")
        }
        return key
    }

    /// The simulated sealing key for an enclave: `HKDF-SHA384(ikm: platform secret, salt:
    /// "enclava-sim-sealing-v1", info: purpose ‖ measurement)`, 32 bytes. A different measurement or
    /// purpose gives an unrelated key, as `SNP_GET_DERIVED_KEY` with the measurement selected does.
    ///
    /// - Parameters:
    ///   - measurement: the enclave's 48-byte measurement.
    ///   - purpose: what the key is for (e.g. "enclava/v1 image dek"); must not be empty.
    public func sealingKey(measurement: [UInt8], purpose: String) throws -> SecureBytes {
        guard measurement.count == 48 else {
            throw SimulatedPlatformError(
                .invalidArgument, "a sealing measurement is 48 bytes (SHA-384), got \(measurement.count)")
        }
        guard !purpose.isEmpty else {
            throw SimulatedPlatformError(.invalidArgument, "a sealing key needs a non-empty purpose")
        }
        let path = (directory as NSString).appendingPathComponent(Self.secretFile)
        let secret = try Self.readSecret(path, maxBytes: Self.secretByteCount + 1)
        guard secret.count == Self.secretByteCount else {
            throw SimulatedPlatformError(
                .corrupt, "\(path) must hold \(Self.secretByteCount) bytes; run `enclava sim init --force`")
        }
        return try HKDF.deriveKey(
            .sha384, ikm: secret, salt: Array(Self.sealingSalt.utf8), info: Array(purpose.utf8) + measurement,
            length: 32)
    }
}
