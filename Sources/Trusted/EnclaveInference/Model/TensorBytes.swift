import EnclavaCrypto

/// The bytes of a ``HostTensor``: request inputs and model outputs are plaintext, so they live in
/// ``SecureBytes`` (locked, dump-excluded, wiped-on-fork pages, zeroized when the last copy goes;
/// DESIGN.md §5), never in an ordinary `[UInt8]`.
///
/// A read-only collection of `UInt8`, so tests can compare and decode it; build one with
/// ``init(count:)`` and ``withUnsafeMutableBytes(_:)``, or by copying a buffer.
public struct TensorBytes: RandomAccessCollection, Sendable, Equatable, CustomStringConvertible {
    /// The secure storage.
    public private(set) var secureBytes: SecureBytes

    /// Wraps secure bytes (no copy).
    public init(_ secureBytes: SecureBytes) { self.secureBytes = secureBytes }

    /// `count` zero bytes.
    public init(count: Int = 0) { secureBytes = SecureBytes(count: count) }

    /// Copies a buffer.
    public init(copying buffer: UnsafeRawBufferPointer) { secureBytes = SecureBytes(copying: buffer) }

    /// Copies bytes (the source is not cleared: use it for values that are not secret, and in tests).
    public init<S: Sequence>(_ bytes: S) where S.Element == UInt8 { secureBytes = SecureBytes(bytes) }

    public var startIndex: Int { 0 }
    public var endIndex: Int { secureBytes.count }
    public var count: Int { secureBytes.count }

    public subscript(position: Int) -> UInt8 {
        precondition(position >= 0 && position < count, "TensorBytes index out of range")
        return secureBytes.withUnsafeBytes { $0[position] }
    }

    /// Calls `body` with the bytes. Do not let the pointer escape.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try secureBytes.withUnsafeBytes(body)
    }

    /// Calls `body` with the bytes for writing (copying first if the storage is shared).
    public mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try secureBytes.withUnsafeMutableBytes(body)
    }

    /// Appends the bytes of `other` (still in secure storage).
    public mutating func append(_ other: TensorBytes) {
        secureBytes.append(other.secureBytes)
    }

    /// A copy of bytes `range`, still in secure storage.
    public func extracting(_ range: Range<Int>) -> TensorBytes {
        TensorBytes(secureBytes.slice(range))
    }

    /// Constant-time comparison of equal-length contents.
    public static func == (lhs: TensorBytes, rhs: TensorBytes) -> Bool { lhs.secureBytes == rhs.secureBytes }

    /// Says how many bytes there are, never what they are.
    public var description: String { "TensorBytes(\(count) bytes)" }
}
