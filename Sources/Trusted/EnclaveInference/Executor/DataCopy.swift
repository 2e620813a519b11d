/// Copies of elements of any type (by byte width) through strided and broadcast layouts: the moving parts of
/// Transpose, Slice, Expand, Concat and Gather.
enum DataCopy {
    /// Fills the contiguous `output` of `shape` from `source`, where output element (i₀, …, iₙ) is read at
    /// element offset `base + Σ iₖ · strides[k]` of `source`. Runs along the last dimension are copied with
    /// `memcpy` when their stride is 1.
    static func strided(_ source: UnsafeRawBufferPointer, base: Int, strides: [Int], shape: [Int],
                        into output: UnsafeMutableRawBufferPointer, width: Int) {
        guard !shape.contains(0), let dst = output.baseAddress, let src = source.baseAddress else { return }
        guard let innerSize = shape.last else {
            dst.copyMemory(from: src + base * width, byteCount: width)
            return
        }
        let innerStride = strides.last!
        let outer = Array(shape.dropLast()), outerStrides = Array(strides.dropLast())
        var index = [Int](repeating: 0, count: outer.count)
        var offset = base
        var out = 0
        while true {
            if innerStride == 1 {
                (dst + out * width).copyMemory(from: src + offset * width, byteCount: innerSize * width)
            } else {
                switch width {
                case 4: run(src, offset, innerStride, innerSize, dst, out, UInt32.self)
                case 8: run(src, offset, innerStride, innerSize, dst, out, UInt64.self)
                case 1: run(src, offset, innerStride, innerSize, dst, out, UInt8.self)
                default:
                    for i in 0..<innerSize {
                        (dst + (out + i) * width).copyMemory(from: src + (offset + i * innerStride) * width, byteCount: width)
                    }
                }
            }
            out += innerSize
            var d = outer.count - 1
            while d >= 0 {
                index[d] += 1
                offset += outerStrides[d]
                if index[d] < outer[d] { break }
                offset -= outerStrides[d] * outer[d]
                index[d] = 0
                d -= 1
            }
            if d < 0 { return }
        }
    }

    private static func run<T>(_ src: UnsafeRawPointer, _ offset: Int, _ stride: Int, _ count: Int,
                               _ dst: UnsafeMutableRawPointer, _ out: Int, _ type: T.Type) {
        let s = src.assumingMemoryBound(to: T.self) + offset
        let d = dst.assumingMemoryBound(to: T.self) + out
        for i in 0..<count { d[i] = s[i * stride] }
    }

    /// Broadcasts `x` to `y`'s shape (numpy rules; `y` is the broadcast shape).
    static func broadcast(_ x: TensorView, into y: MutableTensorView) {
        strided(x.bytes, base: 0, strides: Broadcast.strides(of: x.shape, in: y.shape), shape: y.shape,
                into: y.bytes, width: y.dtype.byteCount)
    }
}
