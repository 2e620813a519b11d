internal import CEnclavaKernels

/// Elementwise binary float32 operations.
public enum BinaryKernel: String, Sendable, CaseIterable {
    case add, sub, mul, div
}

/// Elementwise unary float32 operations.
///
/// Accuracy of the SIMD variants against the references (libm), checked by the tests: `exp` ≤ 2 ulp
/// (measured 1), `erf` and `tanh` ≤ 3 ulp (measured 2), `sigmoid` ≤ 4 ulp (measured 3), `gelu` within
/// 2.4e-7 · max(1, |x|) absolute (its `1 + erf` cancels for negative x, in the reference too), `relu` exact.
public enum UnaryKernel: String, Sendable, CaseIterable {
    case relu, sigmoid
    /// `e^x`.
    case exp
    /// Hyperbolic tangent.
    case tanh
    /// The error function, as libm's `erff` and ONNX `Erf`.
    case erf
    /// GELU, exact (erf) form, as onnxruntime's `Gelu`: `0.5 · x · (1 + erf(x / √2))`.
    case gelu
}

/// Reductions over the last axis of a row-major matrix.
public enum ReduceKernel: String, Sendable, CaseIterable {
    /// Sum of the row.
    case sum
    /// Mean of the row.
    case mean
    /// Maximum of the row; a NaN in the row gives NaN.
    case max
}

/// A safe face over one C kernel table (`enclava_kernel_table`).
///
/// ``selected`` is the table chosen once at start for this CPU (CPUID and XCR0); ``reference`` holds the
/// scalar reference variants every other variant is tested against; ``variant(isa:)`` reaches one ISA's variants.
/// GEMM is in `KernelSet+GEMM.swift`, the row kernels (softmax, layer norm, reductions) in
/// `KernelSet+Rows.swift`. Each method checks every extent it is
/// given against the sizes of its buffers before it calls C, and stops the process with a precondition
/// failure on a mismatch: that is a bug in the caller, never a property of hostile input (callers validate
/// shapes first). In-place use (`y` the same memory as `x`, `a` or `b`) is allowed where the C header says so.
public struct KernelSet: Sendable, CustomStringConvertible, Equatable {
    private enum Source: String, Sendable, Equatable { case selected, ref, avx2, avx512, neon }
    private let source: Source

    /// The kernels chosen for this CPU.
    public static let selected = KernelSet(source: .selected)
    /// The scalar reference kernels.
    public static let reference = KernelSet(source: .ref)

    /// The kernels of one ISA (`"ref"`, `"avx2"`, `"avx512"`, `"neon"`), or nil when this CPU (CPUID and
    /// XCR0) cannot run them or the build does not contain them. For tests and benchmarks.
    public static func variant(isa name: String) -> KernelSet? {
        guard let source = Source(rawValue: name), source != .selected,
              enclava_kernels_isa_table(name) != nil else { return nil }
        return KernelSet(source: source)
    }

    /// Every ISA's kernels this CPU can run, the reference first.
    public static var available: [KernelSet] {
        ["ref", "avx2", "avx512", "neon"].compactMap { variant(isa: $0) }
    }

    var table: UnsafePointer<enclava_kernel_table> {
        switch source {
        case .selected: return enclava_kernels_table()
        case .ref: return enclava_kernels_reference_table()
        case .avx2, .avx512, .neon:
            guard let table = enclava_kernels_isa_table(source.rawValue) else {
                preconditionFailure("the \(source.rawValue) kernels were checked available at creation")
            }
            return table
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
            "softmax": String(cString: t.f32_softmax.name), "exp": String(cString: t.f32_exp.name),
            "tanh": String(cString: t.f32_tanh.name), "erf": String(cString: t.f32_erf.name),
            "gelu": String(cString: t.f32_gelu.name), "layernorm": String(cString: t.f32_layernorm.name),
            "reduce_sum": String(cString: t.f32_reduce_sum.name), "reduce_mean": String(cString: t.f32_reduce_mean.name),
            "reduce_max": String(cString: t.f32_reduce_max.name),
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
        let kernel = unaryFunction(op)
        kernel(x.count, x.baseAddress, y.baseAddress)
    }

    /// The table's function for a unary kernel.
    func unaryFunction(_ op: UnaryKernel) -> enclava_f32_unary_fn {
        let t = table.pointee
        switch op {
        case .relu: return t.f32_relu.fn
        case .sigmoid: return t.f32_sigmoid.fn
        case .exp: return t.f32_exp.fn
        case .tanh: return t.f32_tanh.fn
        case .erf: return t.f32_erf.fn
        case .gelu: return t.f32_gelu.fn
        }
    }

    /// `y[i] = x[i·stride]` for `i < count` (a stride of 0 fills `y` with `x[0]`).
    public func copy(count: Int, x: UnsafeBufferPointer<Float>, stride: Int = 1, y: UnsafeMutableBufferPointer<Float>) {
        let needX = Self.span(count: count, stride: stride)
        precondition(x.count >= needX && y.count >= count, "copy: buffers hold \(x.count)/\(y.count) floats, need \(needX)/\(count)")
        guard count > 0 else { return }
        table.pointee.f32_copy.fn(count, x.baseAddress, stride, y.baseAddress)
    }
}
