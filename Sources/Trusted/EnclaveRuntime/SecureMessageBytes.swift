import EnclavaCrypto
import SwiftProtobuf

/// A `SwiftProtobufContiguousBytes` over ``SecureBytes``, so that decrypted payloads are parsed, and
/// results serialized, without an intermediate `[UInt8]`/`Data` copy of the whole plaintext.
///
/// (The generated message types still hold a parsed request's tensor bytes in `Data`: ``PlaintextWipe``
/// zeroes them once they are copied into secure memory; result tensors are serialized straight from it.)
struct SecureMessageBytes: SwiftProtobufContiguousBytes {
    var storage: SecureBytes

    init(_ storage: SecureBytes) { self.storage = storage }

    init(repeating: UInt8, count: Int) {
        storage = SecureBytes(count: count)
        if repeating != 0 {
            _ = storage.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: repeating) }
        }
    }

    init<S: Sequence>(_ sequence: S) where S.Element == UInt8 { storage = SecureBytes(sequence) }

    var count: Int { storage.count }

    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try storage.withUnsafeBytes(body)
    }

    mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try storage.withUnsafeMutableBytes(body)
    }
}

extension SwiftProtobuf.Message {
    /// Parses a message from decrypted bytes.
    init(secureBytes: SecureBytes) throws {
        try self.init(serializedBytes: SecureMessageBytes(secureBytes))
    }

    /// Serializes a message straight into ``SecureBytes``.
    func secureSerializedBytes() throws -> SecureBytes {
        let bytes: SecureMessageBytes = try serializedBytes()
        return bytes.storage
    }
}
