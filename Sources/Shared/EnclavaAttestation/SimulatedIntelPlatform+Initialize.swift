import EnclavaCrypto
import Foundation

extension SimulatedIntelPlatform {
    /// The keys and certificates of a new simulated Intel hierarchy, file name → content: a root, a PCK
    /// Platform CA and a TCB signing certificate under it, a PCK certificate under the CA (with the SGX
    /// extension and a random PPID and platform instance id), the PCK private key, and the simulated
    /// collateral. The root, CA and TCB signing keys sign everything here and are then discarded.
    static func makeFiles() throws -> [(String, SecureBytes)] {
        let now = Date()
        let notBefore = now.addingTimeInterval(-24 * 3600)
        let year: TimeInterval = 365.25 * 24 * 3600
        func subject(_ commonName: String) -> [(String, String)] {
            [("CN", commonName), ("O", SimulatedPlatform.organization), ("L", "Santa Clara"), ("ST", "CA"), ("C", "US")]
        }
        let rootKey = try ECDSAPrivateKey.generate(curve: .p256)
        let caKey = try ECDSAPrivateKey.generate(curve: .p256)
        let pckKey = try ECDSAPrivateKey.generate(curve: .p256)
        let tcbKey = try ECDSAPrivateKey.generate(curve: .p256)

        let root = try CertificateBuilder(
            subject: subject("SGX-Sim Root CA (Enclava simulated)"), notBefore: notBefore,
            notAfter: now.addingTimeInterval(25 * year), isCA: true, pathLengthConstraint: 1
        ).build(subjectPublicKeySPKI: rootKey.publicKey.spkiDER, issuer: nil, signer: .ecdsa(rootKey, .sha256))
        let pckCA = try CertificateBuilder(
            subject: subject("SGX-Sim PCK Platform CA (Enclava simulated)"), notBefore: notBefore,
            notAfter: now.addingTimeInterval(25 * year), isCA: true, pathLengthConstraint: 0
        ).build(subjectPublicKeySPKI: caKey.publicKey.spkiDER, issuer: root, signer: .ecdsa(rootKey, .sha256))
        let pckNotAfter = now.addingTimeInterval(7 * year)
        let sgxExtension = sgxExtensionDER(
            ppid: SecureRandom.bytes(count: 16), platformInstanceID: SecureRandom.bytes(count: 16))
        let pck = try CertificateBuilder(
            subject: subject("SGX-Sim PCK Certificate (Enclava simulated)"), notBefore: notBefore,
            notAfter: pckNotAfter, extensions: [(oid: PCKCertificate.sgxExtensionOID, critical: false, derValue: sgxExtension)]
        ).build(subjectPublicKeySPKI: pckKey.publicKey.spkiDER, issuer: pckCA, signer: .ecdsa(caKey, .sha256))
        let tcbSigning = try CertificateBuilder(
            subject: subject("SGX-Sim TCB Signing (Enclava simulated)"), notBefore: notBefore, notAfter: pckNotAfter
        ).build(subjectPublicKeySPKI: tcbKey.publicKey.spkiDER, issuer: root, signer: .ecdsa(rootKey, .sha256))

        let pckCRL = try CertificateRevocationList.build(
            issuer: pckCA, signer: .ecdsa(caKey, .sha256), revokedSerialNumbers: [], thisUpdate: notBefore,
            nextUpdate: pckNotAfter)
        let rootCRL = try CertificateRevocationList.build(
            issuer: root, signer: .ecdsa(rootKey, .sha256), revokedSerialNumbers: [], thisUpdate: notBefore,
            nextUpdate: pckNotAfter)
        let signer = CollateralSigner(
            key: tcbKey, chain: [tcbSigning, root], pckCRL: pckCRL, rootCRL: rootCRL, issueDate: notBefore,
            nextUpdate: pckNotAfter)

        var files: [(String, SecureBytes)] = [
            (rootFile, SecureBytes(Array(root.pemRepresentation.utf8))),
            (pckCAFile, SecureBytes(Array(pckCA.pemRepresentation.utf8))),
            (pckFile, SecureBytes(Array(pck.pemRepresentation.utf8))),
            (pckKeyFile, try pckKey.pemRepresentation()),
            (tcbSigningFile, SecureBytes(Array(tcbSigning.pemRepresentation.utf8))),
        ]
        for platform in [EvidencePlatform.tdx, .sgx] {
            files.append((collateralFiles[platform]!, SecureBytes(try signer.collateralJSON(for: platform))))
        }
        return files
    }
}
