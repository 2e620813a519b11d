/// An SEV-SNP `TCB_VERSION`: eight bytes of security patch levels (SPLs), one per firmware component.
///
/// The byte order depends on the processor generation (evidence-formats.md §1). In both layouts byte 7 is
/// the microcode SPL.
/// * Milan and Genoa: `[0]` boot loader, `[1]` TEE, `[2..5]` reserved, `[6]` SNP, `[7]` microcode.
/// * Turin: `[0]` FMC, `[1]` boot loader, `[2]` TEE, `[3]` SNP, `[4..6]` reserved, `[7]` microcode.
///
/// The accessors without a prefix read the Milan/Genoa layout; the `turin…` accessors read the Turin one.
public struct TCBVersion: Sendable, Hashable, CustomStringConvertible {
    /// The eight bytes as a little-endian integer, exactly as they appear in the report.
    public var rawValue: UInt64

    /// Wraps a raw little-endian `TCB_VERSION`.
    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    /// Builds a Milan/Genoa-layout `TCB_VERSION` from its SPLs.
    public init(bootLoader: UInt8, tee: UInt8, snp: UInt8, microcode: UInt8) {
        var bytes = [UInt8](repeating: 0, count: 8)
        bytes[0] = bootLoader
        bytes[1] = tee
        bytes[6] = snp
        bytes[7] = microcode
        self.init(bytes: bytes)
    }

    /// Reads eight little-endian bytes. Precondition: `bytes.count == 8`.
    init(bytes: [UInt8]) {
        precondition(bytes.count == 8, "TCB_VERSION is 8 bytes")
        var value: UInt64 = 0
        for (index, byte) in bytes.enumerated() {
            value |= UInt64(byte) << (8 * UInt64(index))
        }
        self.rawValue = value
    }

    /// The eight bytes in report order.
    public var bytes: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: rawValue >> (8 * UInt64($0))) }
    }

    private func byte(_ index: Int) -> UInt8 { UInt8(truncatingIfNeeded: rawValue >> (8 * UInt64(index))) }

    /// Boot loader SPL (Milan/Genoa layout).
    public var bootLoader: UInt8 { byte(0) }
    /// TEE (PSP OS) SPL (Milan/Genoa layout).
    public var tee: UInt8 { byte(1) }
    /// SNP firmware SPL (Milan/Genoa layout).
    public var snp: UInt8 { byte(6) }
    /// Microcode SPL (byte 7 in every layout).
    public var microcode: UInt8 { byte(7) }

    /// FMC SPL (Turin layout).
    public var turinFMC: UInt8 { byte(0) }
    /// Boot loader SPL (Turin layout).
    public var turinBootLoader: UInt8 { byte(1) }
    /// TEE SPL (Turin layout).
    public var turinTEE: UInt8 { byte(2) }
    /// SNP firmware SPL (Turin layout).
    public var turinSNP: UInt8 { byte(3) }

    /// `bl=… tee=… snp=… ucode=…` (Milan/Genoa layout) and the raw value in hex.
    public var description: String {
        "bl=\(bootLoader) tee=\(tee) snp=\(snp) ucode=\(microcode) (0x\(String(rawValue, radix: 16)))"
    }
}
