internal import COpenSSL
import Foundation

/// The SHA-2 digests Enclava uses.
public enum DigestAlgorithm: Sendable, Equatable, Hashable, CustomStringConvertible {
    case sha256, sha384, sha512

    /// The digest size in bytes (32, 48 or 64).
    public var byteCount: Int {
        switch self {
        case .sha256: 32
        case .sha384: 48
        case .sha512: 64
        }
    }

    public var description: String {
        switch self {
        case .sha256: "SHA-256"
        case .sha384: "SHA-384"
        case .sha512: "SHA-512"
        }
    }

    /// OpenSSL's static digest object (never freed).
    var evpMD: OpaquePointer {
        switch self {
        case .sha256: EVP_sha256()
        case .sha384: EVP_sha384()
        case .sha512: EVP_sha512()
        }
    }
}

/// One-shot SHA-2 hashing.
public enum SHA2 {
    /// The digest of `data`.
    public static func hash(_ alg: DigestAlgorithm, _ data: [UInt8]) -> [UInt8] {
        data.withUnsafeBytes { hash(alg, $0) }
    }

    /// The digest of the bytes in `data`.
    public static func hash(_ alg: DigestAlgorithm, _ data: UnsafeRawBufferPointer) -> [UInt8] {
        var hasher = StreamingHasher(alg)
        hasher.update(data)
        return hasher.finalize()
    }

    /// SHA-256 of `data` (32 bytes).
    public static func sha256(_ data: [UInt8]) -> [UInt8] { hash(.sha256, data) }
    /// SHA-384 of `data` (48 bytes).
    public static func sha384(_ data: [UInt8]) -> [UInt8] { hash(.sha384, data) }
    /// SHA-512 of `data` (64 bytes).
    public static func sha512(_ data: [UInt8]) -> [UInt8] { hash(.sha512, data) }

    /// The digest of a file, read in 1 MiB blocks (the file is never held in memory whole).
    /// - Throws: ``CryptoError`` `.invalidInput` when the file cannot be opened or read.
    public static func hashFile(_ alg: DigestAlgorithm, path: String) throws -> [UInt8] {
        guard let file = fopen(path, "rb") else {
            throw CryptoError(.invalidInput, "cannot open \(path) for hashing: \(String(cString: strerror(errno))); check the path and its permissions")
        }
        defer { fclose(file) }
        var hasher = StreamingHasher(alg)
        let blockSize = 1 << 20
        let block = UnsafeMutableRawBufferPointer.allocate(byteCount: blockSize, alignment: 16)
        defer { block.deallocate() }
        while true {
            let read = fread(block.baseAddress, 1, blockSize, file)
            if read > 0 { hasher.update(UnsafeRawBufferPointer(rebasing: block[0..<read])) }
            if read < blockSize {
                if ferror(file) != 0 {
                    throw CryptoError(.invalidInput, "reading \(path) failed while hashing it; check that the file is readable")
                }
                break
            }
        }
        return hasher.finalize()
    }
}

/// Incremental SHA-2: `update` any number of times, then `finalize` once (which also resets it).
public struct StreamingHasher: Sendable {
    private var context: Context
    /// The algorithm this hasher computes.
    public let algorithm: DigestAlgorithm

    /// Starts a hash.
    public init(_ alg: DigestAlgorithm) {
        algorithm = alg
        context = Context(alg)
    }

    /// Adds bytes.
    public mutating func update(_ data: UnsafeRawBufferPointer) {
        makeUnique()
        var offset = 0
        while offset < data.count {
            let chunk = Swift.min(data.count - offset, 1 << 30)
            guard EVP_DigestUpdate(context.pointer, data.baseAddress! + offset, chunk) == 1 else {
                opensslFatal("update a digest")
            }
            offset += chunk
        }
    }

    /// Adds bytes.
    public mutating func update(_ data: [UInt8]) {
        data.withUnsafeBytes { update($0) }
    }

    /// The digest of everything added; the hasher starts over afterwards.
    public mutating func finalize() -> [UInt8] {
        makeUnique()
        var output = [UInt8](repeating: 0, count: algorithm.byteCount)
        var length: UInt32 = 0
        guard EVP_DigestFinal_ex(context.pointer, &output, &length) == 1,
              EVP_DigestInit_ex(context.pointer, algorithm.evpMD, nil) == 1 else {
            opensslFatal("finish a digest")
        }
        return output
    }

    private mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&context) { context = context.copy() }
    }

    /// Owns an EVP_MD_CTX; mutated only when uniquely referenced.
    final class Context: @unchecked Sendable {
        let pointer: OpaquePointer

        init(_ alg: DigestAlgorithm) {
            guard let ctx = EVP_MD_CTX_new() else { opensslFatal("allocate a digest context") }
            pointer = ctx
            guard EVP_DigestInit_ex(ctx, alg.evpMD, nil) == 1 else { opensslFatal("start a digest") }
        }

        private init(pointer: OpaquePointer) { self.pointer = pointer }

        func copy() -> Context {
            guard let ctx = EVP_MD_CTX_new() else { opensslFatal("allocate a digest context") }
            guard EVP_MD_CTX_copy_ex(ctx, pointer) == 1 else { opensslFatal("copy a digest context") }
            return Context(pointer: ctx)
        }

        deinit { EVP_MD_CTX_free(pointer) }
    }
}
