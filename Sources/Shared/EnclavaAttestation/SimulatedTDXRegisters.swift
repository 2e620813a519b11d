import EnclavaCrypto

/// The measurement registers of a simulated TD (`--sim-format tdx`), laid out as on hardware so that a simulated
/// TDX session policy pins the same registers a hardware one must (DESIGN.md §3, "What a measurement pins"):
///
/// | register | hardware | simulation |
/// |---|---|---|
/// | MRTD | the TD firmware (TDVF) | fixed: SHA-384(`Enclava simulated TDVF v1`) — the same for every runtime |
/// | RTMR0 | firmware configuration (TD HOB, ACPI tables) | extend(0, SHA-384(`Enclava simulated TD configuration v1`)) |
/// | RTMR1 | the kernel (OS loader, EFI boot) | extend(0, SHA-384 of the runtime executable) |
/// | RTMR2 | kernel command line and initrd | extend(0, SHA-384 of the command line ``commandLine``) |
/// | RTMR3 | runtime extensions | zero |
///
/// `extend(r, d) = SHA-384(r ‖ d)`, the TDX `TDG.MR.RTMR.EXTEND` rule, from 48 zero bytes. So MRTD alone says only
/// "the simulated firmware"; the runtime's identity lives in RTMR1 — exactly why a TDX policy must pin RTMRs.
/// (Simulated sealing keys stay bound to the runtime's SHA-384, as under every format.)
public struct SimulatedTDXRegisters: Sendable, Equatable {
    /// MRTD (48 bytes): the simulated firmware.
    public let mrTD: [UInt8]
    /// RTMR0…RTMR3 (48 bytes each).
    public let rtmrs: [[UInt8]]

    /// MRTD of every simulated TD.
    public static let firmwareMRTD = SHA2.sha384(Array("Enclava simulated TDVF v1".utf8))
    /// What RTMR0 measures in simulation: the fixed simulated firmware configuration.
    public static let firmwareConfiguration = SHA2.sha384(Array("Enclava simulated TD configuration v1".utf8))
    /// The simulated TD's kernel command line, measured into RTMR2.
    public static let commandLine = "enclava-runtime --backend sim --sim-format tdx"

    /// The registers of a simulated TD whose runtime executable has SHA-384 `runtimeDigest` (48 bytes).
    public init(runtimeDigest: [UInt8]) {
        let zero = [UInt8](repeating: 0, count: 48)
        mrTD = Self.firmwareMRTD
        rtmrs = [
            Self.extend(zero, Self.firmwareConfiguration),
            Self.extend(zero, runtimeDigest),
            Self.extend(zero, SHA2.sha384(Array(Self.commandLine.utf8))),
            zero,
        ]
    }

    /// `SHA-384(register ‖ digest)`.
    public static func extend(_ register: [UInt8], _ digest: [UInt8]) -> [UInt8] {
        SHA2.sha384(register + digest)
    }

    /// Pins these registers in `policy`: `expected_measurements` and `expected_mrtd` (MRTD) and
    /// `expected_rtmrs` 0–2 (RTMR3 is left to the runtime).
    public func pin(in policy: inout AttestationPolicy) {
        policy.expectedMeasurements = [Hex.encode(mrTD)]
        policy.expectedMRTD = [Hex.encode(mrTD)]
        for (number, index) in AttestationPolicy.requiredTDXRTMRs.enumerated() {
            policy.expectedRTMRs[index] = [Hex.encode(rtmrs[number])]
        }
    }
}
