internal import CEnclavaKernels

/// Elementwise binary float32 operations.
public enum BinaryKernel: String, Sendable, CaseIterable {
    case add, sub, mul, div
}

/// Elementwise unary float32 operations.
public enum UnaryKernel: String, Sendable, CaseIterable {
    case relu, sigmoid
}

/// A safe face over one C kernel table (`enclava_kernel_table`).
///
/// ``selected`` is the table chosen once at start for this CPU (CPUID and XCR0); ``reference`` holds the
/// scalar reference variants every other variant is tested against. Each method checks every extent it is
/// given against the sizes of its buffers before it calls C, and stops the process with a precondition
/// failure on a mismatch: that is a bug in the caller, never a property of hostile input (callers validate
/// shapes first). In-place use (`y` the same memory as `x`, `a` or `b`) is allowed where the C header says so.
public struct KernelSet: Sendable, CustomStringConvertible {
    private enum Source: Sendable { case selected, reference }
    private let source: Source

    /// The kernels chosen for this CPU.
    public static let selected = KernelSet(source: .selected)
    /// The scalar reference kernels.
    public static let reference = KernelSet(source: .reference)

    private var table: UnsafePointer<enclava_kernel_table> {
        switch source {
        case .selected: return enclava_kernels_table()
        case .reference: return enclava_kernels_reference_table()
        }
    }

    /// The best ISA the table uses: `"ref"`, `"avx2"`, `"avx512"` or `"neon"`.
    public var isa: String { String(cString: table.pointee.isa) }

    /// The variant name used for each kernel, e.g. `["gemm": "enclava_f32_gemm__ref", ...]`.
    public var variantNames: [String: String] {
        let t = table.pointee
        return [
            "gemm": String(cString: t.f32_gemm.name), "add": String(cString: t.f32_add.name),
            "sub": String(cString: t.f32_sub.name), "mul": String(cString: t.f32_mul.name),
            "div": String(cString: t.f32_div.name), "relu": String(cString: t.f32_relu.name),
            "sigmoid": String(cString: t.f32_sigmoid.name), "copy": String(cString: t.f32_copy.name),
            "softmax": String(cString: t.f32_softmax.name),
        ]
    }

    public var description: String { "KernelSet(\(isa), cpu: \(CPUFeatures.current))" }

    // MARK: - extent checks

    /// Elements a strided run of `count` elements spans: `(count - 1) * stride + 1`, or 0 when empty.
    static func span(count: Int, stride: Int) -> Int {
        precondition(count >= 0 && stride >= 0, "negative extent")
        guard count > 0 else { return 0 }
        let (product, overflow) = (count - 1).multipliedReportingOverflow(by: stride)
        precondition(!overflow && product < Int.max, "extent overflows")
        return product + 1
    }

    /// Elements a row-major `rows x columns` matrix with row stride `leading` spans.
    static func matrixSpan(rows: Int, columns: Int, leading: Int) -> Int {
        precondition(rows >= 0 && columns >= 0, "negative matrix extent")
        guard rows > 0, columns > 0 else { return 0 }
        precondition(leading >= columns, "leading dimension \(leading) is smaller than the row length \(columns)")
        let (product, overflow) = (rows - 1).multipliedReportingOverflow(by: leading)
        precondition(!overflow && product <= Int.max - columns, "matrix extent overflows")
        return product + columns
    }

    // MARK: - kernels

    /// `C[m×n] = alpha · op(A) · op(B) + beta · C`, row-major. When `beta` is 0, C is not read.
    /// - Parameters:
    ///   - transA: when true, `a` holds a k×m matrix (row stride `lda`) and op(A) is its transpose.
    ///   - transB: when true, `b` holds an n×k matrix (row stride `ldb`) and op(B) is its transpose.
    public func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
                     a: UnsafeBufferPointer<Float>, lda: Int, b: UnsafeBufferPointer<Float>, ldb: Int,
                     beta: Float = 0, c: UnsafeMutableBufferPointer<Float>, ldc: Int) {
        let needA = transA ? Self.matrixSpan(rows: k, columns: m, leading: lda) : Self.matrixSpan(rows: m, columns: k, leading: lda)
        let needB = transB ? Self.matrixSpan(rows: n, columns: k, leading: ldb) : Self.matrixSpan(rows: k, columns: n, leading: ldb)
        let needC = Self.matrixSpan(rows: m, columns: n, leading: ldc)
        precondition(a.count >= needA, "gemm: A holds \(a.count) floats, needs \(needA)")
        precondition(b.count >= needB, "gemm: B holds \(b.count) floats, needs \(needB)")
        precondition(c.count >= needC, "gemm: C holds \(c.count) floats, needs \(needC)")
        guard m > 0, n > 0 else { return }
        table.pointee.f32_gemm.fn(transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha, a.baseAddress, lda,
                                  b.baseAddress, ldb, beta, c.baseAddress, ldc)
    }

    /// `y[i] = a[i·strideA] (op) b[i·strideB]` for `i < count`; a stride of 0 broadcasts one element.
    public func binary(_ op: BinaryKernel, count: Int, a: UnsafeBufferPointer<Float>, strideA: Int = 1,
                       b: UnsafeBufferPointer<Float>, strideB: Int = 1, y: UnsafeMutableBufferPointer<Float>) {
        let needA = Self.span(count: count, stride: strideA)
        let needB = Self.span(count: count, stride: strideB)
        precondition(a.count >= needA && b.count >= needB && y.count >= count,
                     "\(op.rawValue): buffers hold \(a.count)/\(b.count)/\(y.count) floats, need \(needA)/\(needB)/\(count)")
        guard count > 0 else { return }
        let t = table.pointee
        let kernel: enclava_f32_binary_fn
        switch op {
        case .add: kernel = t.f32_add.fn
        case .sub: kernel = t.f32_sub.fn
        case .mul: kernel = t.f32_mul.fn
        case .div: kernel = t.f32_div.fn
        }
        kernel(count, a.baseAddress, strideA, b.baseAddress, strideB, y.baseAddress)
    }

    /// `y[i] = f(x[i])` for every element of `x`; `y` must hold at least `x.count` floats.
    public func unary(_ op: UnaryKernel, x: UnsafeBufferPointer<Float>, y: UnsafeMutableBufferPointer<Float>) {
        precondition(y.count >= x.count, "\(op.rawValue): output holds \(y.count) floats, needs \(x.count)")
        guard x.count > 0 else { return }
        let t = table.pointee
        let kernel: enclava_f32_unary_fn
        switch op {
        case .relu: kernel = t.f32_relu.fn
        case .sigmoid: kernel = t.f32_sigmoid.fn
        }
        kernel(x.count, x.baseAddress, y.baseAddress)
    }

    /// `y[i] = x[i·stride]` for `i < count` (a stride of 0 fills `y` with `x[0]`).
    public func copy(count: Int, x: UnsafeBufferPointer<Float>, stride: Int = 1, y: UnsafeMutableBufferPointer<Float>) {
        let needX = Self.span(count: count, stride: stride)
        precondition(x.count >= needX && y.count >= count, "copy: buffers hold \(x.count)/\(y.count) floats, need \(needX)/\(count)")
        guard count > 0 else { return }
        table.pointee.f32_copy.fn(count, x.baseAddress, stride, y.baseAddress)
    }

    /// Softmax over the middle axis of a contiguous `[outer, axis, inner]` view of `x`, into `y`.
    public func softmax(outer: Int, axis: Int, inner: Int, x: UnsafeBufferPointer<Float>, y: UnsafeMutableBufferPointer<Float>) {
        precondition(outer >= 0 && axis >= 0 && inner >= 0, "softmax: negative extent")
        let (oa, o1) = outer.multipliedReportingOverflow(by: axis)
        let (total, o2) = oa.multipliedReportingOverflow(by: inner)
        precondition(!o1 && !o2, "softmax: extent overflows")
        precondition(x.count >= total && y.count >= total, "softmax: buffers hold \(x.count)/\(y.count) floats, need \(total)")
        guard total > 0 else { return }
        table.pointee.f32_softmax.fn(outer, axis, inner, x.baseAddress, y.baseAddress)
    }
}
