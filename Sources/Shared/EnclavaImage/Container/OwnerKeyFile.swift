import EnclavaCrypto

/// The file in which the model owner keeps an image's data-encryption key
/// (`enclava package --owner-key-out X.key`): the 8 bytes `ENCDEK01` then the 32-byte DEK,
/// mode 0600, written atomically.
public enum OwnerKeyFile {
    /// The file's first 8 bytes.
    public static let magic: [UInt8] = Array("ENCDEK01".utf8)
    /// The file's exact size.
    public static let byteCount = 8 + KeyWrap.dekByteCount

    /// Writes `dek` to `path` (mode 0600) through a temporary file and a rename.
    ///
    /// - Throws: ``ImageError`` `.outputUnwritable`.
    public static func write(_ dek: SecureBytes, to path: String) throws {
        guard dek.count == KeyWrap.dekByteCount else {
            throw ImageError(.invalidArgument, "an image key must be \(KeyWrap.dekByteCount) bytes, got \(dek.count)")
        }
        var contents = SecureBytes(magic)
        contents.append(dek)
        let file = try AtomicOutputFile(destination: path, mode: 0o600)
        try contents.withUnsafeBytes { try file.write($0) }
        try file.commit()
    }

    /// Reads the DEK from an owner key file.
    ///
    /// - Throws: ``ImageError`` `.fileUnreadable`, or `.wrongKey` when the file is not an owner key file.
    public static func load(path: String) throws -> SecureBytes {
        let file = try InputFile(path: path)
        guard file.size == UInt64(byteCount) else {
            throw ImageError(.wrongKey, "not an Enclava image key file (\(file.size) bytes, expected \(byteCount))", path: path)
        }
        var contents = SecureBytes(count: byteCount)
        let got = try contents.withUnsafeMutableBytes { try file.read(into: $0, at: 0) }
        guard got == byteCount, contents.slice(0..<8).unsafeCopyToArray() == magic else {
            throw ImageError(.wrongKey, "not an Enclava image key file (bad magic)", path: path)
        }
        return contents.slice(8..<byteCount)
    }
}
