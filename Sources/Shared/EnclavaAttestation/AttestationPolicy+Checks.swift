import EnclavaCrypto

/// The policy checks on attested evidence (after signatures and chain), in a fixed order: platform, debug,
/// measurements, minimum TCB, TCB status. Each refusal names the field, the expected and the actual value.
extension AttestationPolicy {
    /// The checks of raw hardware verification: every pin that is set must match; empty pins are not checked.
    /// ``EvidenceVerifier/verifyEvidence(_:policy:at:)`` runs them; call this to apply a second, stricter
    /// policy to evidence already attested (e.g. print the claims first, then judge).
    /// - Throws: ``AttestationError`` naming the field, the expected and the actual value.
    public func check(_ a: AttestedEvidence) throws {
        try checkPlatform(a.platform)
        if a.isDebug, !allowDebug {
            throw AttestationError(
                .debugNotAllowed, field: a.debugField, expected: "debug disabled", actual: a.debugValue,
                "the \(a.platform.rawValue) guest runs with debugging enabled, so the host can read and change its "
                    + "memory; relaunch it without debug (or set `allow_debug` for development only)")
        }
        if !expectedMeasurements.isEmpty {
            try Self.pin(measurementField(a.platform), a.measurement, expectedMeasurements, key: "expected_measurements")
        }
        if let tdx = a.tdxQuote {
            if !expectedMRTD.isEmpty { try Self.pin("MRTD", tdx.mrTD, expectedMRTD, key: "expected_mrtd") }
            for (index, values) in expectedRTMRs.sorted(by: { $0.key < $1.key }) {
                guard let number = Int(index), tdx.rtmrs.indices.contains(number) else { continue }
                try Self.pin("RTMR\(index)", tdx.rtmrs[number], values, key: "expected_rtmrs.\(index)")
            }
        }
        if let sgx = a.sgxQuote {
            if !expectedMREnclave.isEmpty { try Self.pin("MRENCLAVE", sgx.mrEnclave, expectedMREnclave, key: "expected_mrenclave") }
            if !expectedMRSigner.isEmpty { try Self.pin("MRSIGNER", sgx.mrSigner, expectedMRSigner, key: "expected_mrsigner") }
        }
        if a.platform == .nitro {
            for (index, values) in expectedPCRs.sorted(by: { $0.key < $1.key }) {
                try Self.pin("PCR\(index)", Int(index).flatMap { a.pcrs[$0] } ?? [], values, key: "expected_pcrs.\(index)")
            }
        }
        if let arm = a.armToken { try checkArmPins(arm) }
        try checkMinimumTCB(a)
        try checkTCBStatus(a)
    }

    /// The extra checks of an Enclava session: a measurement and a manifest digest must be pinned and match;
    /// for TDX also MRTD and RTMR0–2 (``checkTDXSessionPins()``).
    func checkEnclavaPins(_ a: AttestedEvidence, manifestDigest: [UInt8]) throws {
        if a.platform == .tdx { try checkTDXSessionPins() }
        if expectedMeasurements.isEmpty {
            throw AttestationError(
                .measurementMismatch, field: measurementField(a.platform), expected: "(none pinned)",
                actual: a.measurementHex,
                "the policy pins no `expected_measurements`, so it accepts no enclave; if you built and trust this "
                    + "runtime, recreate the policy with `enclava policy create`")
        }
        let digestHex = Hex.encode(manifestDigest)
        guard expectedManifestDigestBytes.contains(where: { constantTimeEquals($0, manifestDigest) }) else {
            throw AttestationError(
                .manifestDigestMismatch, field: "manifest_digest",
                expected: expectedManifestDigests.isEmpty ? "(none pinned)" : expectedManifestDigests.joined(separator: " or "),
                actual: digestHex,
                "the enclave serves an image whose manifest digest \(digestHex) is not in the policy's "
                    + "`expected_manifest_digests`; check with `enclava measure` and recreate the policy")
        }
    }

    func checkPlatform(_ platform: EvidencePlatform) throws {
        guard allowedPlatforms.contains(platform) else {
            throw AttestationError(
                .platformNotAllowed, field: "platform",
                expected: allowedPlatforms.map(\.rawValue).joined(separator: ", "), actual: platform.rawValue,
                "the policy does not allow \(platform.rawValue) evidence; "
                    + "add it to `allowed_platforms` if you trust that platform")
        }
    }

    func measurementField(_ platform: EvidencePlatform) -> String {
        switch platform {
        case .sevSNP: "MEASUREMENT"
        case .tdx: "MRTD"
        case .sgx: "MRENCLAVE"
        case .nitro: "PCR0"
        case .cca: "realm.rim"
        case .psa: "psa (no launch measurement)"
        }
    }

    static func pin(_ field: String, _ actual: [UInt8], _ accepted: [String], key: String) throws {
        guard accepted.contains(where: { Hex.decode($0).map { constantTimeEquals($0, actual) } ?? false }) else {
            let actualHex = actual.isEmpty ? "(absent)" : Hex.encode(actual)
            throw AttestationError(
                .measurementMismatch, field: field, expected: accepted.joined(separator: " or "), actual: actualHex,
                "\(field) is \(actualHex), which the policy's `\(key)` does not list; the enclave runs other code or "
                    + "configuration than you pinned — if you built and trust it, pin it with `enclava policy create`")
        }
    }

    private func checkMinimumTCB(_ a: AttestedEvidence) throws {
        guard let minimum = minimumTCB else { return }
        if let levels = a.snpTCB {
            let pairs: [(String, UInt8?, UInt8?)] = [
                ("bootloader", minimum.bootLoader, levels.bootLoader), ("tee", minimum.tee, levels.tee),
                ("snp", minimum.snp, levels.snp), ("microcode", minimum.microcode, levels.microcode),
                ("fmc", minimum.fmc, levels.fmc),
            ]
            for (name, required, actual) in pairs {
                guard let required else { continue }
                guard let actual, actual >= required else {
                    throw AttestationError(
                        .tcbBelowMinimum, field: "REPORTED_TCB.\(name)", expected: ">= \(required)",
                        actual: actual.map { "\($0)" } ?? "(absent on this processor)",
                        "the platform's \(name) security patch level is below the policy's `minimum_tcb`; the host "
                            + "must update its AMD firmware (and fetch the new VCEK) before this guest is trusted")
                }
            }
        }
        if let required = minimum.isvSVN, let sgx = a.sgxQuote, sgx.isvSVN < required {
            throw AttestationError(
                .tcbBelowMinimum, field: "ISVSVN", expected: ">= \(required)", actual: "\(sgx.isvSVN)",
                "the enclave's security version is below the policy's `minimum_tcb.isv_svn`; deploy the patched enclave")
        }
    }

    private func checkTCBStatus(_ a: AttestedEvidence) throws {
        guard a.platform == .tdx || a.platform == .sgx else { return }
        // Intel evidence always has a TCB status now (it verifies only with collateral); refuse defensively if not.
        guard let tcb = a.tcb else {
            throw AttestationError(
                .tcbStatusNotAllowed, field: "tcb_status", expected: allowedTCBStatuses.map(\.rawValue).joined(separator: ", "),
                actual: "not evaluated",
                "no Intel TCB status was computed for this evidence; verify it with its collateral (TCB Info, QE "
                    + "Identity and CRLs)")
        }
        guard allowedTCBStatuses.contains(tcb.status) else {
            let advisories = tcb.advisoryIDs.isEmpty ? "" : " (advisories \(tcb.advisoryIDs.joined(separator: ", ")))"
            throw AttestationError(
                .tcbStatusNotAllowed, field: "tcb_status", expected: allowedTCBStatuses.map(\.rawValue).joined(separator: ", "),
                actual: tcb.status.rawValue + advisories,
                "Intel rates this platform's TCB \(tcb.status.rawValue)\(advisories); the host must apply Intel's "
                    + "updates, or add the status to `allowed_tcb_statuses` if you accept the risk")
        }
    }
}

extension AttestationPolicy {
    /// The policy `enclava verify-evidence` uses without `--policy`: real hardware of `platforms` only (no
    /// simulation), debug refused, no measurement pinned, Intel TCB status (when collateral is given) UpToDate
    /// or SWHardeningNeeded. It proves *what* runs on genuine hardware; pin measurements to decide *whether*
    /// you trust it.
    public static func hardware(_ platforms: [EvidencePlatform]) -> AttestationPolicy {
        AttestationPolicy(allowedPlatforms: platforms, allowSimulation: false, allowDebug: false)
    }
}
