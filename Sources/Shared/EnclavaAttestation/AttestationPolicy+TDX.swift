/// The TDX rule of session policies (DESIGN.md §3, "What a measurement pins"): MRTD measures only the TD
/// firmware (TDVF). The kernel, initrd, command line — and so the runtime that chooses the report data — are
/// measured into RTMR0–2. A policy that pins MRTD alone accepts the genuine firmware booting **any** kernel and
/// runtime, including a fake one that puts the host's own HPKE key in the report data.
extension AttestationPolicy {
    /// The RTMRs a TDX session policy must pin: 0 (firmware configuration), 1 (kernel; in simulation the
    /// runtime), 2 (command line and initrd).
    public static let requiredTDXRTMRs = ["0", "1", "2"]

    /// Whether the policy is an Enclava **session** policy (it pins manifest digests, which only sessions check;
    /// `enclava verify-evidence` policies pin none).
    var isSessionPolicy: Bool { !expectedManifestDigests.isEmpty }

    /// For a policy that allows TDX in sessions: MRTD (`expected_mrtd`, or `expected_measurements`, which pins
    /// MRTD for TDX) and RTMR0–2 must be pinned.
    /// - Throws: ``AttestationError`` `INVALID_POLICY` naming what is not pinned and why it must be.
    public func checkTDXSessionPins() throws {
        guard allowedPlatforms.contains(.tdx) else { return }
        var missing: [String] = []
        if expectedMRTD.isEmpty && expectedMeasurements.isEmpty { missing.append("MRTD") }
        missing += Self.requiredTDXRTMRs.filter { (expectedRTMRs[$0] ?? []).isEmpty }.map { "RTMR\($0)" }
        guard !missing.isEmpty else { return }
        throw AttestationError(
            .invalidPolicy, field: missing.contains("MRTD") ? CodingKeys.expectedMRTD.rawValue : CodingKeys.expectedRTMRs.rawValue,
            expected: "MRTD and RTMR0, RTMR1, RTMR2 pinned", actual: "not pinned: " + missing.joined(separator: ", "),
            "a TDX session policy must pin MRTD and RTMR0–2: MRTD measures only the TD firmware, while the kernel, "
                + "initrd, command line and runtime are measured into RTMR0–2, so without them a host could boot the "
                + "same firmware with its own kernel and a runtime that chooses its own report data; pin them with "
                + "`enclava policy create --mrtd … --rtmr 0=… --rtmr 1=… --rtmr 2=…` (or `--from-evidence`, or "
                + "`--image … --allow-simulation --sim-format tdx` for the simulator)")
    }
}
