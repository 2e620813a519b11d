import EnclavaCrypto

/// Bytes of one value computed while planning (shape tensors, masks' indices and other small integer
/// values), or folded at load time. Never holds float activations or model inputs other than those a shape
/// depends on. Those values derive from a request or from the weights, so they live in ``SecureBytes``
/// memory (locked, dump-excluded, wiped when the last reference goes).
final class HostBuffer: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let count: Int
    /// Owns the memory at `base`; never copied or resized, so `base` stays valid.
    private var storage: SecureBytes

    init(count: Int) {
        self.count = count
        // At least 64 bytes: secure blocks of 64 bytes or more are aligned to 64 (slab slots to their size,
        // larger blocks to a page), which the kernels' loads expect.
        storage = SecureBytes(count: max(count, 64))
        base = storage.withUnsafeMutableBytes { $0.baseAddress! }
        precondition(Int(bitPattern: base) % 64 == 0, "secure memory block is not 64-byte aligned")
    }

    convenience init(copying bytes: UnsafeRawBufferPointer) {
        self.init(count: bytes.count)
        if let source = bytes.baseAddress, bytes.count > 0 { base.copyMemory(from: source, byteCount: bytes.count) }
    }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
    var mutableBytes: UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(start: base, count: count) }
}
