import EnclavaCrypto
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension SimulatedPlatform {
    /// SPLs of the simulated VCEK (a plausible Milan TCB).
    static let simulatedTCB = TCBVersion(bootLoader: 4, tee: 0, snp: 22, microcode: 213)

    /// Creates a new simulated platform under `home/sim`: ARK and ASK (RSA-4096, RSA-PSS SHA-384 with
    /// salt 48, like AMD's), a VCEK (EC P-384, serial 0, AMD extensions with a random 64-byte hwID), its
    /// private key and a random platform secret; and the simulated Intel PCK hierarchy and collateral in
    /// `home/sim/intel` (``SimulatedIntelPlatform``).
    ///
    /// The files are written into a fresh temporary folder (0700, files 0600) that is renamed into place,
    /// so a failure leaves nothing partial behind. `home` is created (0700) if it does not exist.
    ///
    /// - Parameters:
    ///   - home: the `$ENCLAVA_HOME` folder.
    ///   - force: replace an existing simulated platform. Evidence and images sealed with the old one stop
    ///     verifying or unsealing.
    /// - Throws: ``SimulatedPlatformError`` (`alreadyInitialized` without `force`, `writeFailed`).
    @discardableResult
    public static func initialize(home: String, force: Bool) throws -> SimulatedPlatform {
        let target = directory(home: home)
        if !force, FileManager.default.fileExists(atPath: target) {
            throw SimulatedPlatformError(
                .alreadyInitialized, "a simulated platform already exists at \(target); use `enclava sim init "
                    + "--force` to replace it (images sealed to it will no longer unseal)")
        }
        try createHome(home)
        let intelFiles = try SimulatedIntelPlatform.makeFiles().map { (SimulatedIntelPlatform.directoryName + "/" + $0.0, $0.1) }
        try write(
            files: try makeFiles() + intelFiles, subfolders: [SimulatedIntelPlatform.directoryName], home: home, force: force)
        return try load(home: home)
    }

    /// Generates the keys and certificates; returns file name → content.
    private static func makeFiles() throws -> [(String, SecureBytes)] {
        let now = Date()
        let notBefore = now.addingTimeInterval(-24 * 3600)
        let year: TimeInterval = 365.25 * 24 * 3600
        func subject(_ commonName: String) -> [(String, String)] {
            [("OU", "Engineering"), ("C", "US"), ("L", "Santa Clara"), ("ST", "CA"), ("O", organization),
             ("CN", commonName)]
        }
        let arkKey = try RSAPrivateKey.generate(bits: 4096)
        let askKey = try RSAPrivateKey.generate(bits: 4096)
        let vcekKey = try ECDSAPrivateKey.generate(curve: .p384)

        let ark = try CertificateBuilder(
            subject: subject("ARK-Sim (Enclava simulated)"), serialNumber: randomSerial(), notBefore: notBefore,
            notAfter: now.addingTimeInterval(25 * year), isCA: true, extensions: []
        ).build(subjectPublicKeySPKI: arkKey.publicKey.spkiDER, issuer: nil, signer: .rsaPSS(arkKey, .sha384, saltLength: 48))
        let ask = try CertificateBuilder(
            subject: subject("SEV-Sim (Enclava simulated)"), serialNumber: randomSerial(), notBefore: notBefore,
            notAfter: now.addingTimeInterval(25 * year), isCA: true, extensions: []
        ).build(subjectPublicKeySPKI: askKey.publicKey.spkiDER, issuer: ark, signer: .rsaPSS(arkKey, .sha384, saltLength: 48))

        let tcb = simulatedTCB
        let chipID = SecureRandom.bytes(count: 64)
        let oid = VCEKExtensions.self
        let extensions: [(oid: String, critical: Bool, derValue: [UInt8])] = [
            (oid.structVersionOID, false, DER.integer(1)),
            (oid.productNameOID, false, DER.ia5String(productName)),
            (oid.blSPLOID, false, DER.integer(UInt64(tcb.bootLoader))),
            (oid.teeSPLOID, false, DER.integer(UInt64(tcb.tee))),
            (oid.snpSPLOID, false, DER.integer(UInt64(tcb.snp))),
            (oid.prefix + ".3.4", false, DER.integer(0)),
            (oid.prefix + ".3.5", false, DER.integer(0)),
            (oid.prefix + ".3.6", false, DER.integer(0)),
            (oid.prefix + ".3.7", false, DER.integer(0)),
            (oid.ucodeSPLOID, false, DER.integer(UInt64(tcb.microcode))),
            (oid.hwIDOID, false, chipID),  // raw, as AMD encodes it
        ]
        let vcek = try CertificateBuilder(
            subject: subject("SEV-VCEK (Enclava simulated)"), serialNumber: [0], notBefore: notBefore,
            notAfter: now.addingTimeInterval(7 * year), isCA: false, extensions: extensions
        ).build(subjectPublicKeySPKI: vcekKey.publicKey.spkiDER, issuer: ask, signer: .rsaPSS(askKey, .sha384, saltLength: 48))

        return [
            (arkFile, SecureBytes(Array(ark.pemRepresentation.utf8))),
            (askFile, SecureBytes(Array(ask.pemRepresentation.utf8))),
            (vcekFile, SecureBytes(Array(vcek.pemRepresentation.utf8))),
            (vcekKeyFile, try vcekKey.pemRepresentation()),
            (secretFile, SecureBytes.random(count: secretByteCount)),
        ]
    }

    /// A positive 16-byte serial number.
    private static func randomSerial() -> [UInt8] {
        var serial = SecureRandom.bytes(count: 16)
        serial[0] = serial[0] & 0x7F | 0x01
        return serial
    }
}
