import Foundation
import Testing
@testable import EnclaveKernels

/// Accuracy bounds of the SIMD unary kernels against the references (libm), stated in
/// `UnaryKernel`'s documentation: ulps for exp/erf/tanh/sigmoid, an absolute bound for gelu, exact relu.
enum UnaryBound {
    static func check(_ op: UnaryKernel, x: Float, got: Float, want: Float) -> Bool {
        switch op {
        case .relu: return got == want || (got.isNaN && want.isNaN)
        case .exp: return ulpDistance(got, want) <= 2
        case .erf, .tanh: return ulpDistance(got, want) <= 3
        case .sigmoid: return ulpDistance(got, want) <= 4
        case .gelu:
            if got.isNaN || want.isNaN { return got.isNaN && want.isNaN }
            if got.isInfinite || want.isInfinite { return got == want }
            return abs(got - want) <= 2.4e-7 * max(1, abs(x))
        }
    }

    /// Typical input range of each op (wide enough to reach both approximation branches and saturation).
    static func scale(_ op: UnaryKernel) -> Float {
        switch op {
        case .exp: return 220
        case .erf: return 10
        case .tanh: return 24
        case .gelu: return 16
        case .sigmoid: return 60
        case .relu: return 10
        }
    }
}

/// Inputs every unary kernel must get right: signed zeros, infinities, NaN, subnormals, the edges of
/// exp's range and of each approximation's branches.
let specialInputs: [Float] = [0, -0.0, .infinity, -.infinity, .nan, .leastNonzeroMagnitude * 71_362, -.leastNonzeroMagnitude * 71_362, .leastNormalMagnitude, 88.72, 88.73,
                              -87.33, -103.9, -104.5, 89, 0.9, -0.9, 0.8999, 0.625, -0.625, 3.92, -3.93, 9.5, -9.5,
                              1e-8, -1e-8, 0.5, -0.5, 2, -2, .greatestFiniteMagnitude, -.greatestFiniteMagnitude]

@Suite("Elementwise variants against the references")
struct ElementwiseVariantTests {
    @Test("unary ops within their bounds over every tail length and special values",
          arguments: simdKernelSets, UnaryKernel.allCases)
    func unaryWithinBounds(kernels: KernelSet, op: UnaryKernel) {
        var rng = SplitMix(state: 21)
        var inputs: [[Float]] = lengthSizes.map { rng.floats($0, scale: UnaryBound.scale(op)) }
        inputs.append(specialInputs)
        inputs.append(rng.floats(20_000, scale: UnaryBound.scale(op)) + rng.floats(20_000, scale: 1))
        for x in inputs {
            var got = [Float](repeating: 7, count: x.count + 1), want = got
            x.withUnsafeBufferPointer { px in
                got.withUnsafeMutableBufferPointer { kernels.unary(op, x: px, y: UnsafeMutableBufferPointer(rebasing: $0[0..<x.count])) }
                want.withUnsafeMutableBufferPointer { KernelSet.reference.unary(op, x: px, y: UnsafeMutableBufferPointer(rebasing: $0[0..<x.count])) }
            }
            var failures = 0
            for i in x.indices where !UnaryBound.check(op, x: x[i], got: got[i], want: want[i]) {
                failures += 1
                if failures <= 3 { Issue.record("\(kernels.isa) \(op)(\(x[i])) = \(got[i]), reference \(want[i])") }
            }
            #expect(got[x.count] == 7, "\(op) wrote past the end")
        }
    }

    @Test("unary ops work in place", arguments: simdKernelSets)
    func unaryInPlace(kernels: KernelSet) {
        var rng = SplitMix(state: 5)
        for op in UnaryKernel.allCases {
            let x = rng.floats(37, scale: 6)
            var y = x, want = [Float](repeating: 0, count: x.count)
            y.withUnsafeMutableBufferPointer { kernels.unary(op, x: UnsafeBufferPointer($0), y: $0) }
            x.withUnsafeBufferPointer { px in want.withUnsafeMutableBufferPointer { kernels.unary(op, x: px, y: $0) } }
            #expect(y == want, "\(op) in place")
        }
    }

    /// The references themselves against Double libm (so "matches the reference" means something).
    @Test("reference unary ops against Double libm", arguments: [UnaryKernel.exp, .tanh, .erf, .gelu])
    func referenceAgainstDouble(op: UnaryKernel) {
        var rng = SplitMix(state: 9)
        let x = rng.floats(5000, scale: UnaryBound.scale(op))
        var y = [Float](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { px in y.withUnsafeMutableBufferPointer { KernelSet.reference.unary(op, x: px, y: $0) } }
        for (v, got) in zip(x, y) {
            let d = Double(v)
            let want: Double = switch op {
            case .exp: Foundation.exp(d)
            case .tanh: Foundation.tanh(d)
            case .erf: Foundation.erf(d)
            default: 0.5 * d * (1 + Foundation.erf(d / 2.0.squareRoot()))
            }
            if want.isInfinite || abs(want) > Double(Float.greatestFiniteMagnitude) { #expect(got.isInfinite); continue }
            let bound = op == .gelu ? 2.4e-7 * max(1, abs(d)) : 2 * Double(Float(want).ulp) + 1e-45
            #expect(abs(Double(got) - want) <= bound, "\(op)(\(v)) = \(got), libm double \(want)")
        }
    }

    @Test("binary ops equal the reference bit for bit, every broadcast layout and tail",
          arguments: simdKernelSets, BinaryKernel.allCases)
    func binaryExact(kernels: KernelSet, op: BinaryKernel) {
        var rng = SplitMix(state: 31)
        for count in lengthSizes {
            for (strideA, strideB) in [(1, 1), (0, 1), (1, 0), (0, 0), (2, 3), (3, 1)] {
                let a = rng.floats(max(1, count * max(strideA, 1)), scale: 8)
                let b = rng.floats(max(1, count * max(strideB, 1)), scale: 8)
                var got = [Float](repeating: -7, count: count + 1), want = got
                a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in
                    got.withUnsafeMutableBufferPointer {
                        kernels.binary(op, count: count, a: pa, strideA: strideA, b: pb, strideB: strideB,
                                       y: UnsafeMutableBufferPointer(rebasing: $0[0..<count]))
                    }
                    want.withUnsafeMutableBufferPointer {
                        KernelSet.reference.binary(op, count: count, a: pa, strideA: strideA, b: pb, strideB: strideB,
                                                   y: UnsafeMutableBufferPointer(rebasing: $0[0..<count]))
                    }
                } }
                #expect(got.map(\.bitPattern) == want.map(\.bitPattern), "\(kernels.isa) \(op) n\(count) strides \(strideA)/\(strideB)")
            }
        }
    }

    @Test("copy: contiguous, broadcast and strided", arguments: simdKernelSets)
    func copyMatches(kernels: KernelSet) {
        var rng = SplitMix(state: 41)
        for count in lengthSizes {
            for stride in [0, 1, 2, 5] {
                let x = rng.floats(max(1, count * max(stride, 1)))
                var got = [Float](repeating: -7, count: count + 1), want = got
                x.withUnsafeBufferPointer { px in
                    got.withUnsafeMutableBufferPointer { kernels.copy(count: count, x: px, stride: stride, y: UnsafeMutableBufferPointer(rebasing: $0[0..<count])) }
                    want.withUnsafeMutableBufferPointer { KernelSet.reference.copy(count: count, x: px, stride: stride, y: UnsafeMutableBufferPointer(rebasing: $0[0..<count])) }
                }
                #expect(got == want, "\(kernels.isa) copy n\(count) stride \(stride)")
            }
        }
    }
}
