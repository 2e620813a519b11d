import EnclavaCrypto

/// An Intel SGX PCK certificate and the values of its SGX extension (`1.2.840.113741.1.13.1`):
/// PPID, the TCB (16 CPU SVN components and PCESVN), PCE-ID, FMSPC and SGX type. The TCB and FMSPC select
/// the TCB Info level that gives the platform's TCB status.
public struct PCKCertificate: Sendable {
    /// The SGX extension's OID.
    public static let sgxExtensionOID = "1.2.840.113741.1.13.1"

    /// The certificate.
    public let certificate: Certificate
    /// Platform Provisioning ID (16 bytes).
    public let ppid: [UInt8]
    /// The 16 SGX TCB component SVNs (`.2.1` … `.2.16`).
    public let sgxTCBComponents: [UInt8]
    /// PCESVN (`.2.17`).
    public let pceSVN: UInt16
    /// CPUSVN (`.2.18`, 16 bytes).
    public let cpuSVN: [UInt8]
    /// PCE-ID (`.3`, 2 bytes).
    public let pceID: [UInt8]
    /// FMSPC (`.4`, 6 bytes): family, model, stepping, platform type and customer SKU.
    public let fmspc: [UInt8]
    /// SGX type (`.5`): 0 Standard, 1 Scalable, 2 Scalable with integrity.
    public let sgxType: UInt64
    /// Platform instance id (`.6`, 16 bytes; only in certificates from the PCK Platform CA).
    public let platformInstanceID: [UInt8]?

    /// Reads the SGX extension of `certificate`.
    /// - Throws: ``AttestationError`` `.malformedEvidence` when the extension is missing or malformed.
    public init(_ certificate: Certificate) throws(AttestationError) {
        self.certificate = certificate
        guard let value = certificate.extensionValue(oid: Self.sgxExtensionOID) else {
            throw AttestationError(
                .certificateChainInvalid, field: "PCK certificate", actual: certificate.subject,
                "the quote's leaf certificate has no Intel SGX extension (\(Self.sgxExtensionOID)); it is not a "
                    + "PCK certificate")
        }
        let structure = "PCK certificate SGX extension"
        var outer = DERReader(value, structure: structure)
        var items = DERReader(try outer.next(tag: DERReader.sequenceTag), structure: structure)
        var found: [String: (tag: UInt8, content: [UInt8])] = [:]
        while !items.isAtEnd {
            var item = DERReader(try items.next(tag: DERReader.sequenceTag), structure: structure)
            guard let oid = DERReader.objectIdentifier(try item.next(tag: DERReader.oidTag)) else {
                throw Self.malformed("an object identifier")
            }
            found[oid] = try item.next()
        }
        func required(_ arc: String, tag: UInt8, count: Int? = nil) throws(AttestationError) -> [UInt8] {
            guard let element = found[Self.sgxExtensionOID + arc], element.tag == tag,
                  count == nil || element.content.count == count
            else { throw Self.malformed("`\(arc)`") }
            return element.content
        }
        ppid = try required(".1", tag: DERReader.octetStringTag, count: 16)
        pceID = try required(".3", tag: DERReader.octetStringTag, count: 2)
        fmspc = try required(".4", tag: DERReader.octetStringTag, count: 6)
        guard let type = DERReader.unsigned(try required(".5", tag: DERReader.enumeratedTag)) else {
            throw Self.malformed("the SGX type")
        }
        sgxType = type
        if let instance = found[Self.sgxExtensionOID + ".6"] {
            guard instance.tag == DERReader.octetStringTag, instance.content.count == 16 else {
                throw Self.malformed("the platform instance id")
            }
            platformInstanceID = instance.content
        } else {
            platformInstanceID = nil
        }

        let tcbOID = Self.sgxExtensionOID + ".2"
        var tcb = DERReader(try required(".2", tag: DERReader.sequenceTag), structure: structure)
        var components = [UInt8](repeating: 0, count: 16)
        var seen = Set<String>()
        var pce: UInt16?
        var cpu: [UInt8]?
        while !tcb.isAtEnd {
            var item = DERReader(try tcb.next(tag: DERReader.sequenceTag), structure: structure)
            guard let oid = DERReader.objectIdentifier(try item.next(tag: DERReader.oidTag)), oid.hasPrefix(tcbOID + ".")
            else { throw Self.malformed("a TCB component") }
            let element = try item.next()
            guard let arc = Int(oid.dropFirst(tcbOID.count + 1)), seen.insert(oid).inserted else {
                throw Self.malformed("TCB component \(oid)")
            }
            switch arc {
            case 1...16:
                guard element.tag == DERReader.integerTag, let svn = DERReader.unsigned(element.content), svn <= 0xFF
                else { throw Self.malformed("TCB component \(arc)") }
                components[arc - 1] = UInt8(svn)
            case 17:
                guard element.tag == DERReader.integerTag, let svn = DERReader.unsigned(element.content), svn <= 0xFFFF
                else { throw Self.malformed("the PCESVN") }
                pce = UInt16(svn)
            case 18:
                guard element.tag == DERReader.octetStringTag, element.content.count == 16 else {
                    throw Self.malformed("the CPUSVN")
                }
                cpu = element.content
            default:
                continue
            }
        }
        guard (1...16).allSatisfy({ seen.contains(tcbOID + ".\($0)") }), let pce, let cpu else {
            throw Self.malformed("the TCB (components 1–16, PCESVN and CPUSVN are required)")
        }
        sgxTCBComponents = components
        pceSVN = pce
        cpuSVN = cpu
    }

    private static func malformed(_ what: String) -> AttestationError {
        AttestationError(
            .malformedEvidence, field: "PCK certificate SGX extension",
            "the PCK certificate's SGX extension has a missing or malformed \(what); the certificate is corrupt")
    }
}
