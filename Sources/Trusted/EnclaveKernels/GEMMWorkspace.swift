/// Packing buffers for one product: packed A and B blocks are copies of the caller's operands (model
/// weights, activations), so they are zeroed before the memory goes back to the allocator.
struct GEMMWorkspace {
    let pointer: UnsafeMutableRawPointer?
    let bytes: Int

    init(bytes: Int) {
        self.bytes = bytes
        pointer = bytes == 0 ? nil : UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
    }

    func release() {
        guard let pointer else { return }
        pointer.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        pointer.deallocate()
    }
}
