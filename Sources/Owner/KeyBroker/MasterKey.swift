import EnclavaCrypto
import Foundation

/// The store's master key (`master.key`, mode 0600): the 8 bytes `ENCBMK01` then 32 random bytes. Every model
/// key in the database is AES-256-GCM under it, with the image's manifest digest in the AAD, so a row copied to
/// another image does not open.
public struct MasterKey: Sendable {
    /// The file's first 8 bytes.
    static let magic: [UInt8] = Array("ENCBMK01".utf8)
    /// The file's exact size.
    static let fileByteCount = 8 + 32
    /// The AAD label before the manifest digest.
    static let aadLabel: [UInt8] = Array("enclava-keybroker-v1 model key".utf8)

    let key: SecureBytes

    /// Creates `path` (0600, refusing to overwrite) with a fresh random key.
    /// - Throws: ``KeyBrokerError`` `storeExists` when the file exists, `databaseFailed` when it cannot be written.
    static func create(at path: String) throws -> MasterKey {
        let key = SecureBytes.random(count: 32)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            if errno == EEXIST {
                throw KeyBrokerError(.storeExists, "\(path) already exists; this folder already holds a key broker store")
            }
            throw KeyBrokerError(.databaseFailed, "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var contents = SecureBytes(magic)
        contents.append(key)
        let written = contents.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == fileByteCount, fsync(fd) == 0 else {
            throw KeyBrokerError(.databaseFailed, "cannot write \(path): \(String(cString: strerror(errno)))")
        }
        return MasterKey(key: key)
    }

    /// Loads `path`, refusing a file that others can read or write, or that another user owns.
    /// - Throws: ``KeyBrokerError`` `masterKeyMissing`, `masterKeyPermissions` or `masterKeyInvalid`.
    static func load(path: String) throws -> MasterKey {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            throw KeyBrokerError(.masterKeyMissing, "\(path) is missing; the store was not made by `enclava keybroker init` "
                                     + "or its master key was moved (restore it from your backup)")
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw KeyBrokerError(.masterKeyInvalid, "\(path) is not a regular file")
        }
        guard info.st_uid == geteuid() else {
            throw KeyBrokerError(.masterKeyPermissions, "\(path) belongs to user \(info.st_uid), not to this user "
                                     + "(\(geteuid())); run the broker as the store's owner")
        }
        let mode = info.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw KeyBrokerError(.masterKeyPermissions, "\(path) has mode \(String(mode, radix: 8)); others may read the "
                                     + "master key. Run `chmod 600 \(path)` (and consider the stored keys exposed)")
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw KeyBrokerError(.masterKeyPermissions, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var contents = SecureBytes(count: fileByteCount + 1)
        let got = contents.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard got == fileByteCount, contents.slice(0..<8).unsafeCopyToArray() == magic else {
            throw KeyBrokerError(.masterKeyInvalid, "\(path) is not a key broker master key (\(max(got, 0)) bytes or a bad "
                                     + "magic); restore the store's master.key")
        }
        return MasterKey(key: contents.slice(8..<fileByteCount))
    }

    /// Encrypts a model key for the row of `manifestDigest`: nonce (12) and ciphertext ‖ tag.
    func encrypt(_ dek: SecureBytes, manifestDigest: [UInt8]) throws -> (nonce: [UInt8], ciphertext: [UInt8]) {
        let nonce = SecureRandom.bytes(count: AESGCM.nonceByteCount)
        return (nonce, try AESGCM.seal(key: key, nonce: nonce, plaintext: dek, aad: Self.aadLabel + manifestDigest))
    }

    /// Decrypts the model key of the row of `manifestDigest`.
    /// - Throws: ``KeyBrokerError`` `masterKeyInvalid` when it does not open (another store's master key, or a
    ///   row that was altered or moved).
    func decrypt(nonce: [UInt8], ciphertext: [UInt8], manifestDigest: [UInt8]) throws -> SecureBytes {
        do {
            return try AESGCM.open(key: key, nonce: nonce, ciphertextAndTag: ciphertext, aad: Self.aadLabel + manifestDigest)
        } catch {
            throw KeyBrokerError(.masterKeyInvalid, "the stored key of image \(Hex.encode(manifestDigest).prefix(16))… does "
                                     + "not open with this master.key (another store's key, or the row was altered)")
        }
    }
}
