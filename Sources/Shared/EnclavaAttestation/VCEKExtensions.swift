import EnclavaCrypto

/// The AMD extensions of a VCEK or VLEK certificate (OID prefix `1.3.6.1.4.1.3704.1`, evidence-formats.md §1),
/// read from an untrusted certificate with bounded DER decoding.
struct VCEKExtensions {
    static let prefix = "1.3.6.1.4.1.3704.1"
    static let structVersionOID = prefix + ".1"
    static let productNameOID = prefix + ".2"
    static let blSPLOID = prefix + ".3.1"
    static let teeSPLOID = prefix + ".3.2"
    static let snpSPLOID = prefix + ".3.3"
    static let ucodeSPLOID = prefix + ".3.8"
    static let fmcSPLOID = prefix + ".3.9"
    static let hwIDOID = prefix + ".4"

    let productName: String?
    let hwID: [UInt8]?
    let bootLoader: UInt64?
    let tee: UInt64?
    let snp: UInt64?
    let microcode: UInt64?
    let fmc: UInt64?

    init(_ certificate: Certificate) {
        func integer(_ oid: String) -> UInt64? { certificate.extensionValue(oid: oid).flatMap(DER.decodeUnsigned) }
        productName = certificate.extensionValue(oid: Self.productNameOID)
            .flatMap { DER.content(of: $0, tag: DER.ia5StringTag) }
            .map { String(decoding: $0, as: UTF8.self) }
        // AMD puts the raw chip id in extnValue, without an inner OCTET STRING.
        hwID = certificate.extensionValue(oid: Self.hwIDOID)
        bootLoader = integer(Self.blSPLOID)
        tee = integer(Self.teeSPLOID)
        snp = integer(Self.snpSPLOID)
        microcode = integer(Self.ucodeSPLOID)
        fmc = integer(Self.fmcSPLOID)
    }

    /// Turin parts have an FMC SPL and use the Turin `TCB_VERSION` layout.
    var isTurin: Bool { fmc != nil || (productName?.hasPrefix("Turin") ?? false) }

    /// The TCB the certificate was issued for, in the report's layout; nil if an SPL is missing.
    var tcb: TCBVersion? {
        guard let bootLoader, let tee, let snp, let microcode,
            [bootLoader, tee, snp, microcode].allSatisfy({ $0 <= 0xFF })
        else { return nil }
        if isTurin {
            guard let fmc, fmc <= 0xFF else { return nil }
            return TCBVersion(bytes: [UInt8(fmc), UInt8(bootLoader), UInt8(tee), UInt8(snp), 0, 0, 0, UInt8(microcode)])
        }
        return TCBVersion(bootLoader: UInt8(bootLoader), tee: UInt8(tee), snp: UInt8(snp), microcode: UInt8(microcode))
    }

    /// A VCEK is issued for one chip and one TCB: its hwID must equal `CHIP_ID` (unless the chip id is
    /// masked) and its SPLs must equal `REPORTED_TCB`. A VLEK carries no hwID, only the SPLs.
    func check(against report: SNPReport, leafName: String) throws {
        if report.signingKey == .vcek, !report.isChipIDMasked {
            guard let hwID, !hwID.isEmpty, hwID.count <= report.chipID.count,
                Array(report.chipID[0..<hwID.count]) == hwID,
                report.chipID[hwID.count...].allSatisfy({ $0 == 0 })
            else {
                throw AttestationError(
                    .tcbMismatch, field: "CHIP_ID", expected: hwID.map(Hex.encode) ?? "(no hwID extension)",
                    actual: Hex.encode(report.chipID),
                    "the report's CHIP_ID is not the chip \(leafName) was issued for; fetch the VCEK for this chip")
            }
        }
        guard let tcb else {
            throw AttestationError(
                .tcbMismatch, field: "REPORTED_TCB", actual: report.reportedTCB.description,
                "\(leafName) lacks the AMD SPL extensions, so its TCB cannot be matched to the report")
        }
        guard tcb == report.reportedTCB else {
            throw AttestationError(
                .tcbMismatch, field: "REPORTED_TCB", expected: tcb.description, actual: report.reportedTCB.description,
                "the report's REPORTED_TCB is not the TCB \(leafName) was issued for; fetch the VCEK for this TCB")
        }
    }
}
