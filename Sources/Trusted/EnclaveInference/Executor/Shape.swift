/// Shape arithmetic shared by the operators.
enum Shape {
    /// The product of `dimensions`, or nil on overflow or a negative dimension.
    static func elementCount<C: Collection<Int>>(_ dimensions: C) -> Int? {
        var count = 1
        for dimension in dimensions {
            guard dimension >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            if overflow { return nil }
            count = product
        }
        return count
    }

    /// Row-major element strides of a contiguous tensor.
    static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for index in shape.indices.reversed() {
            strides[index] = running
            running *= max(shape[index], 1)
        }
        return strides
    }

    /// `[2, 3]` → `"[2, 3]"`.
    static func text(_ shape: [Int]) -> String {
        "[" + shape.map(String.init).joined(separator: ", ") + "]"
    }
}
