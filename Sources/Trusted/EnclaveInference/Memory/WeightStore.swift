/// The model's constant tensors (initializers and `Constant` values), copied into one sealed region at load
/// time and read-only afterwards, so any number of requests can read them at once.
final class WeightStore: Sendable {
    /// Offsets of tensors are aligned to this many bytes (a cache line; what SIMD kernels want next issue).
    static let alignment = 64

    private let block: SealedBlock

    /// Bytes in use (the block may be larger: a decrypted model file the weights were moved into).
    let byteCount: Int

    init(block: SealedBlock, byteCount: Int? = nil) {
        precondition((byteCount ?? 0) <= block.count, "weight store larger than its block")
        self.block = block
        self.byteCount = byteCount ?? block.count
    }

    /// Whether the store lives in `block`.
    func isBacked(by block: SealedBlock) -> Bool { self.block === block }

    /// The bytes of one weight.
    func bytes(_ weight: WeightRef) -> UnsafeRawBufferPointer {
        precondition(weight.offset >= 0 && weight.byteCount >= 0 && weight.offset <= byteCount - weight.byteCount,
                     "weight outside the store")
        return UnsafeRawBufferPointer(start: block.base + weight.offset, count: weight.byteCount)
    }

    /// Rounds `offset` up to ``alignment``.
    static func align(_ offset: Int) -> Int {
        (offset + alignment - 1) / alignment * alignment
    }
}

/// Fills a ``WeightStore`` during decoding: a first pass reserves space (``reserve(dtype:shape:)``), then the
/// block is allocated once and each tensor is copied to its reserved place.
struct WeightLayout {
    private(set) var totalBytes = 0
    let limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    /// Reserves room for a tensor and returns where it goes.
    /// - Throws: ``InferenceError`` `resourceLimit` when the weights would exceed ``ModelLimits/maxWeightBytes``.
    mutating func reserve(dtype: TensorDataType, shape: [Int], name: String) throws -> WeightRef {
        var count = 1
        for dimension in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow, dimension >= 0 else { throw InferenceError.limit("tensor '\(name)' is too large") }
            count = product
        }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.byteCount)
        let offset = WeightStore.align(totalBytes)
        guard !overflow, bytes <= limit, offset <= limit - bytes else {
            throw InferenceError.limit("the model's weights exceed the limit of \(limit) bytes (at tensor '\(name)'); "
                                       + "raise ModelLimits.maxWeightBytes if this model is expected")
        }
        totalBytes = offset + bytes
        return WeightRef(offset: offset, byteCount: bytes, dtype: dtype, shape: shape)
    }
}
