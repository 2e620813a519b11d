internal import COpenSSL

/// Bytes that hold a secret: class-backed, copy-on-write, kept in locked, dump-excluded pages
/// (``SecureMemory``), zeroized over their whole capacity when the last copy is released, and compared in
/// constant time.
///
/// Keep keys, shared secrets and plaintext here, never in `[UInt8]`, `Data` or `String`.
/// `description` never shows the contents.
public struct SecureBytes: Sendable, Equatable, CustomStringConvertible {
    private var storage: Storage

    /// Creates `count` zero bytes.
    public init(count: Int) {
        precondition(count >= 0, "SecureBytes count must not be negative")
        storage = Storage(capacity: count)
        storage.count = count
    }

    /// Copies `bytes` (with no intermediate array). The source is not cleared: prefer filling SecureBytes
    /// directly where you can.
    public init<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        if let copied = bytes.withContiguousStorageIfAvailable({ SecureBytes(copying: UnsafeRawBufferPointer($0)) }) {
            self = copied
            return
        }
        storage = Storage(capacity: bytes.underestimatedCount)
        for byte in bytes { Swift.withUnsafeBytes(of: byte) { storage.append($0) } }
    }

    /// Copies the bytes of a raw buffer.
    public init(copying buffer: UnsafeRawBufferPointer) {
        storage = Storage(capacity: buffer.count)
        storage.append(buffer)
    }

    /// `count` bytes from the OpenSSL CSPRNG, written straight into secure storage.
    public static func random(count: Int) -> SecureBytes {
        var bytes = SecureBytes(count: count)
        bytes.withUnsafeMutableBytes { SecureRandom.fill($0) }
        return bytes
    }

    /// The number of bytes.
    public var count: Int { storage.count }

    /// True when there are no bytes.
    public var isEmpty: Bool { storage.count == 0 }

    /// Calls `body` with the bytes. Do not let the pointer escape.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: storage.pointer, count: storage.count))
    }

    /// Calls `body` with the bytes for writing (copying first if the storage is shared).
    public mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        makeUnique(minimumCapacity: storage.count)
        return try body(UnsafeMutableRawBufferPointer(start: storage.pointer, count: storage.count))
    }

    /// Appends the bytes of `other`.
    public mutating func append(_ other: SecureBytes) {
        makeUnique(minimumCapacity: count + other.count)
        other.withUnsafeBytes { storage.append($0) }
    }

    /// Appends `bytes` (which are not cleared).
    public mutating func append(contentsOf bytes: [UInt8]) {
        makeUnique(minimumCapacity: count + bytes.count)
        bytes.withUnsafeBytes { storage.append($0) }
    }

    /// Appends the bytes of a raw buffer.
    public mutating func append(contentsOf buffer: UnsafeRawBufferPointer) {
        makeUnique(minimumCapacity: count + buffer.count)
        storage.append(buffer)
    }

    /// A copy of bytes `range`, still in secure storage.
    public func slice(_ range: Range<Int>) -> SecureBytes {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "SecureBytes slice out of range")
        return withUnsafeBytes { SecureBytes(copying: UnsafeRawBufferPointer(rebasing: $0[range])) }
    }

    /// Copies the secret into an ordinary array, which is NOT zeroized when released.
    ///
    /// This is an explicit escape hatch for values that are about to stop being secret (for example
    /// a public key derived from a private one) and for tests. Never use it for keys or plaintext.
    public func unsafeCopyToArray() -> [UInt8] {
        withUnsafeBytes { Array($0) }
    }

    /// Constant-time comparison (the lengths themselves are not secret).
    public static func == (lhs: SecureBytes, rhs: SecureBytes) -> Bool {
        guard lhs.count == rhs.count else { return false }
        if lhs.count == 0 { return true }
        return lhs.withUnsafeBytes { a in
            rhs.withUnsafeBytes { b in CRYPTO_memcmp(a.baseAddress, b.baseAddress, a.count) == 0 }
        }
    }

    /// Says how many bytes there are, never what they are.
    public var description: String { "SecureBytes(\(count) bytes)" }

    private mutating func makeUnique(minimumCapacity: Int) {
        if !isKnownUniquelyReferenced(&storage) {
            storage = storage.copy(minimumCapacity: minimumCapacity)
        } else if storage.capacity < minimumCapacity {
            storage.grow(to: minimumCapacity)
        }
    }
}

extension SecureBytes {
    /// What protects the pages holding these bytes (see ``SecureMemory``).
    public var memoryProtection: SecureMemory.Protection { storage.protection }

    /// The backing store: a block from ``SecureMemory`` (locked, dump-excluded, wiped-on-fork pages) that
    /// is wiped over its whole slot before it is freed. Mutation happens only through a uniquely referenced
    /// instance (copy-on-write).
    final class Storage: @unchecked Sendable {
        private(set) var pointer: UnsafeMutableRawPointer
        private(set) var capacity: Int
        private(set) var protection: SecureMemory.Protection
        var count: Int = 0

        init(capacity: Int) {
            (pointer, protection, self.capacity) = SecureMemory.allocate(byteCount: Swift.max(capacity, 1))
        }

        deinit {
            SecureMemory.deallocate(pointer, byteCount: capacity, protection: protection)
        }

        func append(_ bytes: UnsafeRawBufferPointer) {
            guard let base = bytes.baseAddress, bytes.count > 0 else { return }
            if count + bytes.count > capacity { grow(to: count + bytes.count) }
            (pointer + count).copyMemory(from: base, byteCount: bytes.count)
            count += bytes.count
        }

        func grow(to minimumCapacity: Int) {
            let newCapacity = Swift.max(minimumCapacity, capacity * 2)
            let (newPointer, newProtection, allocated) = SecureMemory.allocate(byteCount: newCapacity)
            newPointer.copyMemory(from: pointer, byteCount: count)
            SecureMemory.deallocate(pointer, byteCount: capacity, protection: protection)
            pointer = newPointer
            capacity = allocated
            protection = newProtection
        }

        func copy(minimumCapacity: Int) -> Storage {
            let other = Storage(capacity: Swift.max(minimumCapacity, count))
            other.append(UnsafeRawBufferPointer(start: pointer, count: count))
            return other
        }
    }
}

/// Compares two byte arrays in constant time for equal lengths (unequal lengths return false at once).
public func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    if a.isEmpty { return true }
    return a.withUnsafeBytes { x in b.withUnsafeBytes { y in CRYPTO_memcmp(x.baseAddress, y.baseAddress, x.count) == 0 } }
}

/// The OpenSSL CSPRNG.
public enum SecureRandom {
    /// `count` random bytes, for values that are not secret (nonces, identifiers). Use
    /// ``SecureBytes/random(count:)`` for keys.
    public static func bytes(count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeMutableBytes { fill($0) }
        return bytes
    }

    /// Fills `buffer` with random bytes. Stops the process if the CSPRNG fails, since continuing without
    /// randomness would be unsafe.
    static func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        var offset = 0
        while offset < buffer.count {
            let chunk = Swift.min(buffer.count - offset, 1 << 30)
            guard RAND_bytes((buffer.baseAddress! + offset).assumingMemoryBound(to: UInt8.self), Int32(chunk)) == 1 else {
                opensslFatal("produce random bytes")
            }
            offset += chunk
        }
    }
}
