import Foundation

extension SNPReport {
    /// Reads SEV-SNP evidence in virtee/sev's serde JSON form (as trustee's `evidence.json` holds it):
    /// `{"attestation_report": {…fields…}, "cert_chain": [{"cert_type": "VCEK", "data": [bytes…]}, …]}`.
    ///
    /// The report is rebuilt in the 1184-byte ABI layout (the signature covers those bytes, so a field read
    /// wrongly fails verification rather than passing); the certificates come back leaf first (VCEK or VLEK,
    /// then ASK or ASVK, then ARK).
    /// - Throws: ``AttestationError`` `MALFORMED_EVIDENCE` naming the missing or out-of-range field.
    public static func fromVirteeJSON(_ data: [UInt8]) throws -> (report: [UInt8], certificates: [[UInt8]]) {
        guard data.count <= 1 << 20, let root = try? JSONSerialization.jsonObject(with: Data(data)) as? [String: Any],
            let fields = root["attestation_report"] as? [String: Any]
        else {
            throw AttestationError(
                .malformedEvidence, field: "attestation_report",
                "the file is not virtee/trustee SNP evidence JSON (an object with `attestation_report`)")
        }
        let json = VirteeFields(fields: fields)
        var r = SNPReport()
        r.version = try json.u32("version")
        r.guestSVN = try json.u32("guest_svn")
        r.policy = SNPGuestPolicy(rawValue: try json.u64("policy"))
        r.familyID = try json.bytes("family_id", 16)
        r.imageID = try json.bytes("image_id", 16)
        r.vmpl = try json.u32("vmpl")
        r.signatureAlgorithm = try json.u32("sig_algo")
        r.currentTCB = try json.tcb("current_tcb")
        r.platformInfo = try json.u64("plat_info")
        r.signerInfo = try json.u32("key_info")
        r.reportData = try json.bytes("report_data", 64)
        r.measurement = try json.bytes("measurement", 48)
        r.hostData = try json.bytes("host_data", 32)
        r.idKeyDigest = try json.bytes("id_key_digest", 48)
        r.authorKeyDigest = try json.bytes("author_key_digest", 48)
        r.reportID = try json.bytes("report_id", 32)
        r.reportIDMA = try json.bytes("report_id_ma", 32)
        r.reportedTCB = try json.tcb("reported_tcb")
        r.cpuidFamily = UInt8(try json.u32("cpuid_fam_id", optional: true, max: 0xFF))
        r.cpuidModel = UInt8(try json.u32("cpuid_mod_id", optional: true, max: 0xFF))
        r.cpuidStepping = UInt8(try json.u32("cpuid_step", optional: true, max: 0xFF))
        r.chipID = try json.bytes("chip_id", 64)
        r.committedTCB = try json.tcb("committed_tcb")
        (r.currentMajor, r.currentMinor, r.currentBuild) = try json.version("current")
        (r.committedMajor, r.committedMinor, r.committedBuild) = try json.version("committed")
        r.launchTCB = try json.tcb("launch_tcb")
        r.launchMitigationVector = try json.u64("launch_mit_vector", optional: true)
        r.currentMitigationVector = try json.u64("current_mit_vector", optional: true)
        guard let signature = fields["signature"] as? [String: Any] else { throw json.missing("signature") }
        let sig = VirteeFields(fields: signature)
        r.signatureR = try sig.bytes("r", 72)
        r.signatureS = try sig.bytes("s", 72)

        let order = ["VCEK": 0, "VLEK": 0, "ASK": 1, "ASVK": 1, "ARK": 2]
        let chain = (root["cert_chain"] as? [[String: Any]] ?? []).prefix(8)
        let certificates = try chain.enumerated().map { index, entry -> (Int, [UInt8]) in
            let item = VirteeFields(fields: entry)
            let type = (entry["cert_type"] as? String) ?? ""
            return (order[type] ?? 3, try item.bytes("data", nil, field: "cert_chain[\(index)].data"))
        }
        return (r.serialized(), certificates.sorted { $0.0 < $1.0 }.map(\.1))
    }
}

/// Typed, range-checked reads of virtee's JSON fields.
private struct VirteeFields {
    let fields: [String: Any]

    func missing(_ key: String) -> AttestationError {
        AttestationError(
            .malformedEvidence, field: key, "the SNP evidence JSON lacks `\(key)` or holds a value of the wrong type or size")
    }

    func u64(_ key: String, optional: Bool = false, max: UInt64 = .max) throws -> UInt64 {
        guard let value = fields[key], !(value is NSNull) else {
            if optional { return 0 }
            throw missing(key)
        }
        guard let number = value as? NSNumber, let integer = UInt64(number.stringValue),
            integer <= max
        else { throw missing(key) }
        return integer
    }

    func u32(_ key: String, optional: Bool = false, max: UInt64 = UInt64(UInt32.max)) throws -> UInt32 {
        UInt32(try u64(key, optional: optional, max: max))
    }

    func bytes(_ key: String, _ count: Int?, field: String? = nil) throws -> [UInt8] {
        guard let array = fields[key] as? [Any], count.map({ $0 == array.count }) ?? (array.count <= 16 << 10) else {
            throw missing(field ?? key)
        }
        return try array.map { item in
            guard let number = item as? NSNumber, let byte = UInt8(number.stringValue) else { throw missing(field ?? key) }
            return byte
        }
    }

    func tcb(_ key: String) throws -> TCBVersion {
        guard let object = fields[key] as? [String: Any] else { throw missing(key) }
        let t = VirteeFields(fields: object)
        let (bl, tee, snp, ucode) = try (
            t.u64("bootloader", max: 0xFF), t.u64("tee", max: 0xFF), t.u64("snp", max: 0xFF), t.u64("microcode", max: 0xFF))
        if let fmc = object["fmc"], !(fmc is NSNull) {
            return TCBVersion(bytes: [UInt8(try t.u64("fmc", max: 0xFF)), UInt8(bl), UInt8(tee), UInt8(snp), 0, 0, 0, UInt8(ucode)])
        }
        return TCBVersion(bootLoader: UInt8(bl), tee: UInt8(tee), snp: UInt8(snp), microcode: UInt8(ucode))
    }

    func version(_ key: String) throws -> (UInt8, UInt8, UInt8) {
        guard let object = fields[key] as? [String: Any] else { throw missing(key) }
        let v = VirteeFields(fields: object)
        return (UInt8(try v.u64("major", max: 0xFF)), UInt8(try v.u64("minor", max: 0xFF)), UInt8(try v.u64("build", max: 0xFF)))
    }
}
