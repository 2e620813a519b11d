internal import CEnclavaKernels

/// The CPU features the kernels may use: present in CPUID *and* enabled by the OS in XCR0.
///
/// Detected once, at the first use of the kernels, and never changed afterwards.
public struct CPUFeatures: OptionSet, Sendable, CustomStringConvertible {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public static let sse42 = CPUFeatures(rawValue: UInt64(ENCLAVA_CPU_SSE42))
    public static let avx = CPUFeatures(rawValue: UInt64(ENCLAVA_CPU_AVX))
    public static let avx2 = CPUFeatures(rawValue: UInt64(ENCLAVA_CPU_AVX2))
    public static let fma = CPUFeatures(rawValue: UInt64(ENCLAVA_CPU_FMA))
    public static let f16c = CPUFeatures(rawValue: UInt64(ENCLAVA_CPU_F16C))
    public static let avx512f = CPUFeatures(rawValue: UInt64(ENCLAVA_CPU_AVX512F))
    public static let avx512bw = CPUFeatures(rawValue: UInt64(ENCLAVA_CPU_AVX512BW))
    public static let avx512dq = CPUFeatures(rawValue: UInt64(ENCLAVA_CPU_AVX512DQ))
    public static let avx512vl = CPUFeatures(rawValue: UInt64(ENCLAVA_CPU_AVX512VL))
    public static let neon = CPUFeatures(rawValue: UInt64(ENCLAVA_CPU_NEON))

    /// The features of this machine.
    public static var current: CPUFeatures { CPUFeatures(rawValue: enclava_cpu_features()) }

    private static let names: [(CPUFeatures, String)] = [
        (.sse42, "sse4.2"), (.avx, "avx"), (.avx2, "avx2"), (.fma, "fma"), (.f16c, "f16c"),
        (.avx512f, "avx512f"), (.avx512bw, "avx512bw"), (.avx512dq, "avx512dq"), (.avx512vl, "avx512vl"),
        (.neon, "neon"),
    ]

    /// Space-separated feature names, e.g. `"sse4.2 avx avx2 fma"`, or `"none"`.
    public var description: String {
        let present = Self.names.filter { contains($0.0) }.map(\.1)
        return present.isEmpty ? "none" : present.joined(separator: " ")
    }
}
