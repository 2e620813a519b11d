import EnclavaCrypto
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The simulated Intel side of `enclava sim init`, under `$ENCLAVA_HOME/sim/intel` (mode 0700): a PCK
/// hierarchy shaped like Intel's, so that simulated TDX and SGX quotes run the **same** verifier code as
/// hardware quotes (evidence-formats.md §2–3), ending in a simulated root that a verifier accepts only
/// under `allow_simulation` with the root pinned.
///
/// | file | what |
/// |---|---|
/// | `root.pem` | self-signed "SGX-Sim Root CA (Enclava simulated)", EC P-256, ECDSA-SHA256, like the Intel SGX Root CA |
/// | `pck-ca.pem` | "SGX-Sim PCK Platform CA (Enclava simulated)", signed by the root |
/// | `pck.pem` | "SGX-Sim PCK Certificate (Enclava simulated)", EC P-256, with the SGX extension `1.2.840.113741.1.13.1` (PPID, TCB components, PCESVN, CPUSVN, PCE-ID, FMSPC, SGX type, platform instance id) |
/// | `pck-key.pem` | the PCK private key (PKCS#8): it signs the simulated QE reports |
/// | `tcb-signing.pem` | "SGX-Sim TCB Signing (Enclava simulated)", signed by the root: signs the simulated collateral |
/// | `collateral-tdx.json`, `collateral-sgx.json` | simulated TCB Info, QE Identity and CRLs (dcap-qvl JSON layout) |
///
/// Homes made before the Intel part existed get it on first use (``loadOrCreate(home:)``), atomically:
/// a staging folder renamed into place, so concurrent first users agree on one hierarchy.
public struct SimulatedIntelPlatform: Sendable {
    /// The folder under `$ENCLAVA_HOME/sim`.
    public static let directoryName = "intel"

    static let rootFile = "root.pem"
    static let pckCAFile = "pck-ca.pem"
    static let pckFile = "pck.pem"
    static let pckKeyFile = "pck-key.pem"
    static let tcbSigningFile = "tcb-signing.pem"
    static let collateralFiles: [EvidencePlatform: String] = [.tdx: "collateral-tdx.json", .sgx: "collateral-sgx.json"]

    /// The `$ENCLAVA_HOME` this platform lives in.
    public let home: String
    /// The simulated Intel root (self-signed).
    public let root: Certificate
    /// The simulated PCK Platform CA (signed by the root).
    public let pckCA: Certificate
    /// The simulated PCK certificate (signed by the PCK CA); its key signs QE reports.
    public let pck: Certificate
    /// The SGX extension of ``pck`` as the verifier reads it (FMSPC, TCB, PCESVN, CPUSVN…).
    public let pckExtension: PCKCertificate
    /// The simulated TCB signing certificate (signed by the root).
    public let tcbSigning: Certificate

    /// `$ENCLAVA_HOME/sim/intel`.
    public var directory: String { Self.directory(home: home) }

    /// The PCK chain as a quote's certification data type 5 carries it: PEM, leaf, PCK CA, root.
    public var pckChainPEM: [UInt8] { Array([pck, pckCA, root].map(\.pemRepresentation).joined().utf8) }

    static func directory(home: String) -> String {
        (SimulatedPlatform.directory(home: home) as NSString).appendingPathComponent(directoryName)
    }

    /// Loads the Intel part of the simulated platform in `home`, creating it first when `home/sim` exists
    /// but predates it. The SEV-SNP part must exist (`enclava sim init`).
    /// - Throws: ``SimulatedPlatformError`` (`notInitialized`, `corrupt`, `insecurePermissions`, `writeFailed`).
    public static func loadOrCreate(home: String) throws -> SimulatedIntelPlatform {
        let target = directory(home: home)
        if FileManager.default.fileExists(atPath: target) { return try load(home: home) }
        _ = try SimulatedPlatform.load(home: home)  // the SNP part must be there and private
        do {
            try SimulatedPlatform.writeFolder(files: try makeFiles(), at: target, force: false)
        } catch let error as SimulatedPlatformError where error.code == .alreadyInitialized {
            // Another process created it between our check and our rename: use theirs.
        }
        return try load(home: home)
    }

    /// Loads the Intel part of the simulated platform from `home`.
    /// - Throws: ``SimulatedPlatformError`` — `notInitialized` when it is missing, `insecurePermissions`
    ///   when the folder or the PCK key is accessible to others, `corrupt` when files do not fit together.
    public static func load(home: String) throws -> SimulatedIntelPlatform {
        let directory = directory(home: home)
        var status = stat()
        guard stat(directory, &status) == 0 else {
            throw SimulatedPlatformError(
                .notInitialized, "no simulated Intel platform at \(directory); run `enclava sim init --force` "
                    + "(or use it through `--sim-format tdx|sgx`, which creates it)")
        }
        guard status.st_mode & S_IFMT == S_IFDIR else {
            throw SimulatedPlatformError(.corrupt, "\(directory) is not a folder; run `enclava sim init --force`")
        }
        try SimulatedPlatform.checkPrivate(directory, status: status, fix: "chmod 700")
        let keyPath = (directory as NSString).appendingPathComponent(pckKeyFile)
        guard stat(keyPath, &status) == 0 else {
            throw SimulatedPlatformError(.corrupt, "\(keyPath) is missing; run `enclava sim init --force`")
        }
        try SimulatedPlatform.checkPrivate(keyPath, status: status, fix: "chmod 600")
        let root = try SimulatedPlatform.certificate(directory, rootFile)
        let pckCA = try SimulatedPlatform.certificate(directory, pckCAFile)
        let pck = try SimulatedPlatform.certificate(directory, pckFile)
        let tcbSigning = try SimulatedPlatform.certificate(directory, tcbSigningFile)
        guard root.isSelfSigned, pckCA.issuer == root.subject, pck.issuer == pckCA.subject,
              tcbSigning.issuer == root.subject, let pckExtension = try? PCKCertificate(pck)
        else {
            throw SimulatedPlatformError(
                .corrupt, "the certificates in \(directory) do not form a simulated root → PCK CA → PCK chain; "
                    + "run `enclava sim init --force`")
        }
        return SimulatedIntelPlatform(
            home: home, root: root, pckCA: pckCA, pck: pck, pckExtension: pckExtension, tcbSigning: tcbSigning)
    }

    /// The simulated PCK private key, read from `pck-key.pem`.
    /// - Throws: ``SimulatedPlatformError`` if the key is unreadable or does not match the PCK certificate.
    public func pckSigningKey() throws -> ECDSAPrivateKey {
        let path = (directory as NSString).appendingPathComponent(Self.pckKeyFile)
        let pem = try SimulatedPlatform.readSecret(path, maxBytes: 4096)
        let key: ECDSAPrivateKey
        do {
            key = try ECDSAPrivateKey(pem: String(decoding: pem.unsafeCopyToArray(), as: UTF8.self))
        } catch {
            throw SimulatedPlatformError(.corrupt, "\(path) is not a PEM private key; run `enclava sim init --force`")
        }
        guard key.curve == .p256, key.publicKey.spkiDER == pck.subjectPublicKeyInfoDER else {
            throw SimulatedPlatformError(.corrupt, "\(path) does not match pck.pem; run `enclava sim init --force`")
        }
        return key
    }

    /// The simulated collateral for `platform` (`.tdx` or `.sgx`): TCB Info and QE Identity signed by the
    /// simulated TCB signing key, and the PCK CA and root CRLs, valid for as long as the PCK certificate.
    /// Verifying a simulated quote with it runs the TCB evaluation and gives `UpToDate`.
    /// - Throws: ``SimulatedPlatformError`` when the file is missing or does not parse.
    public func collateral(for platform: EvidencePlatform) throws -> QuoteCollateral {
        guard let file = Self.collateralFiles[platform] else {
            throw SimulatedPlatformError(
                .invalidArgument, "simulated collateral exists for tdx and sgx, not \(platform.rawValue)")
        }
        let path = (directory as NSString).appendingPathComponent(file)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SimulatedPlatformError(.corrupt, "cannot read \(path); run `enclava sim init --force`")
        }
        do {
            return try QuoteCollateral(dcapQVLJSON: Array(data))
        } catch {
            throw SimulatedPlatformError(.corrupt, "\(path) is not valid collateral (\(error)); run `enclava sim init --force`")
        }
    }

    /// The path of the simulated collateral file for `platform` (for `enclava verify-evidence --collateral`).
    public func collateralPath(for platform: EvidencePlatform) -> String? {
        Self.collateralFiles[platform].map { (directory as NSString).appendingPathComponent($0) }
    }
}
