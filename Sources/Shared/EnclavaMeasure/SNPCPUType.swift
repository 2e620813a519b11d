/// A QEMU vCPU model (`-cpu EPYC-v4`) and the CPUID signature (family, model, stepping) it reports, which
/// QEMU puts in the initial RDX of every vCPU and so enters the SEV-SNP launch digest.
public struct SNPCPUType: Sendable, Equatable {
    /// The model name as QEMU spells it.
    public let name: String
    /// CPUID Fn0000_0001_EAX.
    public let signature: UInt32

    /// The QEMU model `name` (case-insensitive).
    /// - Throws: ``MeasurementError`` `.invalidOption` naming the known models.
    public init(parsing name: String) throws {
        guard let known = Self.known.first(where: { $0.name.lowercased() == name.lowercased() }) else {
            throw MeasurementError(.invalidOption, "--vcpu-type \(name) is not a known QEMU EPYC model; use one of "
                                   + Self.known.map(\.name).joined(separator: ", "))
        }
        self = known
    }

    private init(_ name: String, family: UInt32, model: UInt32, stepping: UInt32) {
        self.name = name
        self.signature = Self.signature(family: family, model: model, stepping: stepping)
    }

    /// The CPUID signature of a family, model and stepping (AMD CPUID specification #25481, Fn0000_0001_EAX):
    /// families above 0xF put 0xF in the base field and the rest in the extended field.
    public static func signature(family: UInt32, model: UInt32, stepping: UInt32) -> UInt32 {
        let (baseFamily, extendedFamily) = family > 0xf ? (UInt32(0xf), (family - 0xf) & 0xff) : (family, 0)
        return extendedFamily << 20 | ((model >> 4) & 0xf) << 16 | baseFamily << 8 | (model & 0xf) << 4 | (stepping & 0xf)
    }

    /// The EPYC models of QEMU's `builtin_x86_defs` and their versions.
    public static let known: [SNPCPUType] = {
        let naples = ["EPYC", "EPYC-v1", "EPYC-v2", "EPYC-IBPB", "EPYC-v3", "EPYC-v4"]
            .map { SNPCPUType($0, family: 23, model: 1, stepping: 2) }
        let rome = ["EPYC-Rome", "EPYC-Rome-v1", "EPYC-Rome-v2", "EPYC-Rome-v3"]
            .map { SNPCPUType($0, family: 23, model: 49, stepping: 0) }
        let milan = ["EPYC-Milan", "EPYC-Milan-v1", "EPYC-Milan-v2"].map { SNPCPUType($0, family: 25, model: 1, stepping: 1) }
        let genoa = ["EPYC-Genoa", "EPYC-Genoa-v1"].map { SNPCPUType($0, family: 25, model: 17, stepping: 0) }
        return naples + rome + milan + genoa + [SNPCPUType("EPYC-Turin", family: 26, model: 0, stepping: 0)]
    }()
}
