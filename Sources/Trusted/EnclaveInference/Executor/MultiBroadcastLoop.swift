/// Walks a contiguous output in runs along its (coalesced) innermost dimension, for any number of broadcast
/// operands: each run gives every operand's offset and its increment inside the run (0 = broadcast).
struct MultiBroadcastLoop {
    private var outerShape: [Int] = []
    private var outerStrides: [[Int]] = []   // [dimension][operand]
    /// Elements per run.
    private(set) var innerCount = 1
    /// Each operand's increment inside a run.
    private(set) var innerStrides: [Int]
    private let isEmpty: Bool
    let operandCount: Int

    /// - Parameters:
    ///   - output: the output shape.
    ///   - shapes: each operand's shape (broadcast to `output`, right-aligned).
    init(output: [Int], shapes: [[Int]]) {
        operandCount = shapes.count
        isEmpty = output.contains(0)
        let strides = shapes.map { Broadcast.strides(of: $0, in: output) }
        var dims: [(size: Int, strides: [Int])] = []
        for index in output.indices where output[index] != 1 {
            let next = (size: output[index], strides: strides.map { $0[index] })
            if let last = dims.last, zip(last.strides, next.strides).allSatisfy({ $0 == $1 * next.size }) {
                dims[dims.count - 1] = (last.size * next.size, next.strides)
            } else {
                dims.append(next)
            }
        }
        innerStrides = Array(repeating: 0, count: shapes.count)
        if let inner = dims.popLast() {
            innerCount = inner.size
            innerStrides = inner.strides
        }
        outerShape = dims.map(\.size)
        outerStrides = dims.map(\.strides)
    }

    /// Calls `body(offsets, outputOffset)` for every run, in output order; `offsets[i]` is operand i's.
    func forEachRun(_ body: (UnsafeBufferPointer<Int>, Int) throws -> Void) rethrows {
        guard !isEmpty else { return }
        var index = [Int](repeating: 0, count: outerShape.count)
        var offsets = [Int](repeating: 0, count: operandCount)
        var outputOffset = 0
        while true {
            try offsets.withUnsafeBufferPointer { try body($0, outputOffset) }
            outputOffset += innerCount
            var dimension = outerShape.count - 1
            while dimension >= 0 {
                index[dimension] += 1
                for operand in 0..<operandCount { offsets[operand] += outerStrides[dimension][operand] }
                if index[dimension] < outerShape[dimension] { break }
                for operand in 0..<operandCount { offsets[operand] -= outerStrides[dimension][operand] * outerShape[dimension] }
                index[dimension] = 0
                dimension -= 1
            }
            if dimension < 0 { return }
        }
    }
}

/// Broadcasting elementwise loops over typed buffers, for operators whose kernels are written in Swift.
enum Elementwise {
    /// `y[i] = f(a[i'], b[i''])` with numpy broadcasting.
    static func binary<A, B, Y>(_ a: UnsafeBufferPointer<A>, _ shapeA: [Int], _ b: UnsafeBufferPointer<B>, _ shapeB: [Int],
                                _ y: UnsafeMutableBufferPointer<Y>, _ shapeY: [Int], _ f: (A, B) -> Y) {
        let loop = MultiBroadcastLoop(output: shapeY, shapes: [shapeA, shapeB])
        let count = loop.innerCount, sa = loop.innerStrides[0], sb = loop.innerStrides[1]
        loop.forEachRun { offsets, offsetY in
            var ia = offsets[0], ib = offsets[1]
            for i in offsetY..<(offsetY + count) {
                y[i] = f(a[ia], b[ib])
                ia += sa
                ib += sb
            }
        }
    }

    /// `y[i] = cond ? x : z` elementwise with numpy broadcasting, on elements of `width` bytes (1, 4 or 8).
    static func select(_ c: UnsafeBufferPointer<UInt8>, _ shapeC: [Int], _ x: UnsafeRawBufferPointer, _ shapeX: [Int],
                       _ z: UnsafeRawBufferPointer, _ shapeZ: [Int], _ y: UnsafeMutableRawBufferPointer, _ shapeY: [Int], width: Int) {
        switch width {
        case 1: select(c, shapeC, x, shapeX, z, shapeZ, y, shapeY, as: UInt8.self)
        case 4: select(c, shapeC, x, shapeX, z, shapeZ, y, shapeY, as: UInt32.self)
        default: select(c, shapeC, x, shapeX, z, shapeZ, y, shapeY, as: UInt64.self)
        }
    }

    private static func select<T>(_ c: UnsafeBufferPointer<UInt8>, _ shapeC: [Int], _ x: UnsafeRawBufferPointer, _ shapeX: [Int],
                                  _ z: UnsafeRawBufferPointer, _ shapeZ: [Int], _ y: UnsafeMutableRawBufferPointer, _ shapeY: [Int],
                                  as type: T.Type) {
        let px = x.bindMemory(to: T.self), pz = z.bindMemory(to: T.self), py = y.bindMemory(to: T.self)
        let loop = MultiBroadcastLoop(output: shapeY, shapes: [shapeC, shapeX, shapeZ])
        let count = loop.innerCount, sc = loop.innerStrides[0], sx = loop.innerStrides[1], sz = loop.innerStrides[2]
        loop.forEachRun { offsets, offsetY in
            var ic = offsets[0], ix = offsets[1], iz = offsets[2]
            for i in offsetY..<(offsetY + count) {
                py[i] = c[ic] != 0 ? px[ix] : pz[iz]
                ic += sc
                ix += sx
                iz += sz
            }
        }
    }
}
