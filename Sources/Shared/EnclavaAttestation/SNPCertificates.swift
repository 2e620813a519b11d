import EnclavaCrypto

/// The AMD certificates an SEV-SNP host hands out beside a report: the GHCB certificate table of
/// `SNP_GET_EXT_REPORT` and configfs-tsm `auxblob` (evidence-formats.md §5).
///
/// The table is 24-byte entries `{GUID[16], u32 offset, u32 length}` ending in an all-zero entry, then the DER
/// certificates the entries point at (offsets from the start of the table). GUIDs are read in their string
/// byte order (go-sev-guest, virtee); the mixed-endian (Microsoft `GUID`) order is accepted as well.
/// Every offset and length is checked against the buffer before use.
public struct SNPCertificates: Sendable, Equatable {
    /// The VCEK (entry GUID `63da758d-e664-4564-adc5-f4b93be8accd`), DER.
    public var vcek: [UInt8]?
    /// The VLEK (`a8074bc2-a25a-483e-aae6-39c045a0b8a1`), DER.
    public var vlek: [UInt8]?
    /// The ASK, or with a VLEK the ASVK (`4ab7b379-bbac-4fe4-a02f-05aef327c782`), DER.
    public var ask: [UInt8]?
    /// The ARK (`c0b406a4-a803-4952-9743-3fb6014cd0ae`), DER.
    public var ark: [UInt8]?

    static let entryByteCount = 24
    static let maxEntries = 16
    static let vcekGUID = "63da758de6644564adc5f4b93be8accd"
    static let vlekGUID = "a8074bc2a25a483eaae639c045a0b8a1"
    static let askGUID = "4ab7b379bbac4fe4a02f05aef327c782"
    static let arkGUID = "c0b406a4a803495297433fb6014cd0ae"

    /// Certificates from their parts.
    public init(vcek: [UInt8]? = nil, vlek: [UInt8]? = nil, ask: [UInt8]? = nil, ark: [UInt8]? = nil) {
        self.vcek = vcek
        self.vlek = vlek
        self.ask = ask
        self.ark = ark
    }

    /// Parses a certificate table. Entries with unknown GUIDs are skipped.
    /// - Throws: ``AttestationError`` `MALFORMED_EVIDENCE` naming the entry: no terminating entry, a range
    ///   outside the buffer or inside the entry headers, a repeated GUID, or too many entries.
    public init(certificateTable bytes: [UInt8]) throws {
        let reader = LittleEndianReader(bytes: bytes, structure: "SNP certificate table")
        var position = 0
        var seen: Set<String> = []
        var entries: [(guid: String, offset: Int, length: Int)] = []
        while true {
            guard entries.count <= Self.maxEntries else {
                throw AttestationError(
                    .malformedEvidence, field: "certificate table", expected: "at most \(Self.maxEntries) entries",
                    "the SNP certificate table has no terminating all-zero entry among its first entries; it is damaged")
            }
            let guid = try reader.bytes(at: position, count: 16, field: "entry \(entries.count).guid")
            let offset = Int(try reader.u32(at: position + 16, field: "entry \(entries.count).offset"))
            let length = Int(try reader.u32(at: position + 20, field: "entry \(entries.count).length"))
            position += Self.entryByteCount
            if guid.allSatisfy({ $0 == 0 }) && offset == 0 && length == 0 { break }
            let name = Self.canonicalGUID(guid)
            guard seen.insert(name).inserted else {
                throw AttestationError(
                    .malformedEvidence, field: "entry \(entries.count).guid", actual: name,
                    "the SNP certificate table names GUID \(name) twice; the host's certificate data is damaged")
            }
            entries.append((name, offset, length))
        }
        for (index, entry) in entries.enumerated() {
            guard entry.length > 0, entry.offset >= position, entry.offset <= bytes.count,
                entry.length <= bytes.count - entry.offset
            else {
                throw AttestationError(
                    .malformedEvidence, field: "entry \(index)", expected: "a range inside \(position)..<\(bytes.count)",
                    actual: "offset \(entry.offset), length \(entry.length)",
                    "entry \(index) of the SNP certificate table points outside the certificate data; the table is damaged")
            }
            let der = Array(bytes[entry.offset..<(entry.offset + entry.length)])
            switch entry.guid {
            case Self.vcekGUID: vcek = der
            case Self.vlekGUID: vlek = der
            case Self.askGUID: ask = der
            case Self.arkGUID: ark = der
            default: continue
            }
        }
    }

    /// The table bytes for these certificates (VCEK, VLEK, ASK, ARK order; absent ones left out).
    public func certificateTable() -> [UInt8] {
        let parts: [(String, [UInt8])] = [
            (Self.vcekGUID, vcek), (Self.vlekGUID, vlek), (Self.askGUID, ask), (Self.arkGUID, ark),
        ].compactMap { guid, der in der.map { (guid, $0) } }
        var offset = (parts.count + 1) * Self.entryByteCount
        var header: [UInt8] = []
        var body: [UInt8] = []
        for (guid, der) in parts {
            header += Hex.decode(guid)! + Self.le32(offset) + Self.le32(der.count)
            body += der
            offset += der.count
        }
        return header + [UInt8](repeating: 0, count: Self.entryByteCount) + body
    }

    /// The leaf a report signed with `key` needs.
    func leaf(for key: SNPReport.SigningKey) -> [UInt8]? { key == .vlek ? vlek : vcek }

    private static func le32(_ value: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }

    /// The GUID in string byte order; a mixed-endian GUID of a known entry is turned around.
    static func canonicalGUID(_ bytes: [UInt8]) -> String {
        let plain = Hex.encode(bytes)
        let swapped = Hex.encode(
            Array(bytes[0..<4].reversed()) + Array(bytes[4..<6].reversed()) + Array(bytes[6..<8].reversed())
                + Array(bytes[8..<16]))
        let known = [vcekGUID, vlekGUID, askGUID, arkGUID]
        return known.contains(plain) || !known.contains(swapped) ? plain : swapped
    }
}
