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
    /// private key and a random platform secret.
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
        let files = try makeFiles()
        let staging = (home as NSString).appendingPathComponent(".sim.tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        guard mkdir(staging, 0o700) == 0 else {
            throw SimulatedPlatformError(.writeFailed, "cannot create \(staging): \(String(cString: strerror(errno)))")
        }
        do {
            _ = chmod(staging, 0o700)
            for (name, content) in files {
                let path = (staging as NSString).appendingPathComponent(name)
                try content.withUnsafeBytes { try AtomicFile.createFile(buffer: $0, at: path, mode: 0o600) }
            }
            AtomicFile.syncDirectory(of: (staging as NSString).appendingPathComponent("x"))
            try install(staging: staging, at: target, force: force)
        } catch {
            try? FileManager.default.removeItem(atPath: staging)
            if let error = error as? SimulatedPlatformError { throw error }
            throw SimulatedPlatformError(.writeFailed, "cannot write the simulated platform: \(error)")
        }
        return try load(home: home)
    }

    private static func createHome(_ home: String) throws {
        var status = stat()
        if stat(home, &status) == 0 { return }
        do {
            try FileManager.default.createDirectory(
                atPath: home, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw SimulatedPlatformError(.writeFailed, "cannot create \(home): \(error)")
        }
    }

    /// Renames the staging folder into place. With `force`, the old folder is moved aside first and
    /// restored if the rename fails.
    private static func install(staging: String, at target: String, force: Bool) throws {
        if rename(staging, target) == 0 {
            AtomicFile.syncDirectory(of: target)
            return
        }
        let firstError = errno
        guard force, firstError == EEXIST || firstError == ENOTEMPTY else {
            if firstError == EEXIST || firstError == ENOTEMPTY {
                throw SimulatedPlatformError(
                    .alreadyInitialized, "a simulated platform already exists at \(target); use "
                        + "`enclava sim init --force` to replace it")
            }
            throw SimulatedPlatformError(.writeFailed, "cannot create \(target): \(String(cString: strerror(firstError)))")
        }
        let aside = staging.replacingOccurrences(of: ".sim.tmp-", with: ".sim.old-")
        guard rename(target, aside) == 0 else {
            throw SimulatedPlatformError(.writeFailed, "cannot replace \(target): \(String(cString: strerror(errno)))")
        }
        guard rename(staging, target) == 0 else {
            let error = errno
            _ = rename(aside, target)
            throw SimulatedPlatformError(.writeFailed, "cannot replace \(target): \(String(cString: strerror(error)))")
        }
        AtomicFile.syncDirectory(of: target)
        try? FileManager.default.removeItem(atPath: aside)
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

// MARK: - Reading

extension SimulatedPlatform {
    static func certificate(_ directory: String, _ file: String) throws -> Certificate {
        let path = (directory as NSString).appendingPathComponent(file)
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SimulatedPlatformError(
                .notInitialized, "cannot read \(path); run `enclava sim init` (or `--force` to recreate it)")
        }
        do {
            return try Certificate(pem: text)
        } catch {
            throw SimulatedPlatformError(.corrupt, "\(path) is not a PEM certificate; run `enclava sim init --force`")
        }
    }

    /// Refuses a secret (or the folder) that others can access, like ssh does.
    static func checkPrivate(_ path: String, status: stat, fix: String) throws {
        guard status.st_mode & 0o077 == 0 else {
            throw SimulatedPlatformError(
                .insecurePermissions, "\(path) is accessible to other users (mode "
                    + "\(String(status.st_mode & 0o777, radix: 8))); run `\(fix) \(path)`")
        }
    }

    /// Reads a small secret file straight into zeroizing memory.
    static func readSecret(_ path: String, maxBytes: Int) throws -> SecureBytes {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw SimulatedPlatformError(
                .corrupt, "cannot read \(path): \(String(cString: strerror(errno))); run `enclava sim init --force`")
        }
        defer { close(fd) }
        var buffer = SecureBytes(count: maxBytes)
        var total = 0
        let failed: Bool = buffer.withUnsafeMutableBytes { raw in
            while total < raw.count {
                let n = read(fd, raw.baseAddress! + total, raw.count - total)
                if n < 0, errno == EINTR { continue }
                if n < 0 { return true }
                if n == 0 { break }
                total += n
            }
            return false
        }
        guard !failed else {
            throw SimulatedPlatformError(.corrupt, "cannot read \(path): \(String(cString: strerror(errno)))")
        }
        guard total < maxBytes || maxBytes == 0 else {
            throw SimulatedPlatformError(.corrupt, "\(path) is larger than expected; run `enclava sim init --force`")
        }
        return buffer.slice(0..<total)
    }
}
