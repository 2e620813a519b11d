extension SimulatedIntelPlatform {
    /// The DER value of the SGX extension (`1.2.840.113741.1.13.1`) of a simulated PCK certificate, in the
    /// structure Intel's PCK certificates use and ``PCKCertificate`` reads:
    ///
    /// ```
    /// SEQUENCE {
    ///   SEQUENCE { .1 PPID OCTET STRING(16) }
    ///   SEQUENCE { .2 TCB SEQUENCE { SEQUENCE { .2.1 INTEGER } … .2.16, .2.17 PCESVN INTEGER, .2.18 CPUSVN OCTET STRING(16) } }
    ///   SEQUENCE { .3 PCE-ID OCTET STRING(2) }
    ///   SEQUENCE { .4 FMSPC OCTET STRING(6) }
    ///   SEQUENCE { .5 SGX type ENUMERATED }
    ///   SEQUENCE { .6 platform instance id OCTET STRING(16) }
    /// }
    /// ```
    static func sgxExtensionDER(ppid: [UInt8], platformInstanceID: [UInt8]) -> [UInt8] {
        let base = PCKCertificate.sgxExtensionOID
        func item(_ arc: String, _ value: [UInt8]) -> [UInt8] {
            DER.sequence(DER.objectIdentifier(base + arc) + value)
        }
        var tcb: [UInt8] = []
        for (index, svn) in Identity.sgxTCBComponents.enumerated() {
            tcb += item(".2.\(index + 1)", DER.integer(UInt64(svn)))
        }
        tcb += item(".2.17", DER.integer(UInt64(Identity.pceSVN)))
        tcb += item(".2.18", DER.octetString(Identity.sgxTCBComponents))
        return DER.sequence(
            item(".1", DER.octetString(ppid))
                + item(".2", DER.sequence(tcb))
                + item(".3", DER.octetString(Identity.pceID))
                + item(".4", DER.octetString(Identity.fmspc))
                + item(".5", DER.enumerated(Identity.sgxType))
                + item(".6", DER.octetString(platformInstanceID)))
    }
}

extension DER {
    static func sequence(_ content: [UInt8]) -> [UInt8] { encode(tag: 0x30, content) }
    static func octetString(_ content: [UInt8]) -> [UInt8] { encode(tag: 0x04, content) }
    /// An ENUMERATED: the INTEGER encoding with tag 0x0A.
    static func enumerated(_ value: UInt64) -> [UInt8] { [0x0A] + integer(value).dropFirst() }

    /// An OBJECT IDENTIFIER from its dotted form (arcs must be numbers; the first two are combined).
    static func objectIdentifier(_ dotted: String) -> [UInt8] {
        let arcs = dotted.split(separator: ".").map { UInt64($0) ?? 0 }
        var content: [UInt8] = []
        for arc in [arcs[0] * 40 + arcs[1]] + arcs.dropFirst(2) {
            var chunk: [UInt8] = [UInt8(arc & 0x7F)]
            var rest = arc >> 7
            while rest > 0 {
                chunk.insert(UInt8(rest & 0x7F) | 0x80, at: 0)
                rest >>= 7
            }
            content += chunk
        }
        return encode(tag: 0x06, content)
    }
}
