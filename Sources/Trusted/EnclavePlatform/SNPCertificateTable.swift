import EnclavaAttestation
import EnclavaCrypto

/// The GHCB certificate table an SEV-SNP host hands out with an extended report (configfs-tsm `auxblob`,
/// `SNP_GET_EXT_REPORT`'s certificate buffer): 24-byte entries `{GUID[16], u32 offset, u32 length}`
/// ending in an all-zero entry, then the DER certificates the entries point at.
///
/// GUIDs are written in their string byte order, as go-sev-guest reads them; lookups also accept the
/// mixed-endian (EFI `GUID`) order some hosts use.
public struct SNPCertificateTable: Sendable, Equatable {
    /// One certificate of the table.
    public struct Entry: Sendable, Equatable {
        /// The 16-byte GUID naming the certificate.
        public var guid: [UInt8]
        /// The DER certificate.
        public var certificate: [UInt8]

        /// An entry.
        public init(guid: [UInt8], certificate: [UInt8]) {
            self.guid = guid
            self.certificate = certificate
        }
    }

    /// Bytes per table entry.
    public static let entryByteCount = 24
    /// The VCEK's GUID `63da758d-e664-4564-adc5-f4b93be8accd`.
    public static let vcekGUID = guid("63da758de6644564adc5f4b93be8accd")
    /// The VLEK's GUID `a8074bc2-a25a-483e-aae6-39c045a0b8a1`.
    public static let vlekGUID = guid("a8074bc2a25a483eaae639c045a0b8a1")
    /// The ASK's (or, with a VLEK, the ASVK's) GUID `4ab7b379-bbac-4fe4-a02f-05aef327c782`.
    public static let askGUID = guid("4ab7b379bbac4fe4a02f05aef327c782")
    /// The ARK's GUID `c0b406a4-a803-4952-9743-3fb6014cd0ae`.
    public static let arkGUID = guid("c0b406a4a803495297433fb6014cd0ae")

    /// The entries in table order.
    public var entries: [Entry]

    /// A table of `entries`.
    public init(entries: [Entry]) {
        self.entries = entries
    }

    /// Parses a certificate table. An empty or all-zero buffer is an empty table (the host provided no
    /// certificates).
    ///
    /// - Throws: ``PlatformError`` `.invalidEvidence` naming the entry: no terminating entry, an offset
    ///   inside the header or a range outside the buffer, a zero length, a repeated GUID, or bytes that are
    ///   not a DER certificate.
    public init(parsing bytes: [UInt8]) throws {
        entries = []
        guard bytes.contains(where: { $0 != 0 }) else { return }
        var headers: [(guid: [UInt8], offset: UInt32, length: UInt32)] = []
        var position = 0
        while true {
            guard position + Self.entryByteCount <= bytes.count else {
                throw PlatformError(.invalidEvidence, "the SNP certificate table has no all-zero terminating entry "
                    + "within its \(bytes.count) bytes; the host's certificate data is damaged")
            }
            let guid = Array(bytes[position..<(position + 16)])
            let offset = LittleEndian.u32(bytes, position + 16)
            let length = LittleEndian.u32(bytes, position + 20)
            position += Self.entryByteCount
            if offset == 0 && length == 0 && guid.allSatisfy({ $0 == 0 }) { break }
            headers.append((guid, offset, length))
        }
        for (index, header) in headers.enumerated() {
            let start = Int(header.offset)
            let end = start + Int(header.length)
            guard start >= position, header.length > 0, end <= bytes.count else {
                throw PlatformError(.invalidEvidence, "SNP certificate table entry \(index) (\(Self.name(header.guid))) "
                    + "points at bytes \(start)..<\(end), outside the certificate data \(position)..<\(bytes.count); "
                    + "the host's certificate data is damaged")
            }
            guard !entries.contains(where: { $0.guid == header.guid }) else {
                throw PlatformError(.invalidEvidence, "SNP certificate table lists \(Self.name(header.guid)) twice")
            }
            let der = Array(bytes[start..<end])
            do {
                _ = try Certificate(derRepresentation: der)
            } catch {
                throw PlatformError(.invalidEvidence, "SNP certificate table entry \(index) (\(Self.name(header.guid))) "
                    + "is not a DER certificate: \(error)")
            }
            entries.append(Entry(guid: header.guid, certificate: der))
        }
    }

    /// The certificate under `guid`, if present.
    public func certificate(_ guid: [UInt8]) -> [UInt8]? {
        let mixed = Self.mixedEndian(guid)
        return (entries.first { $0.guid == guid } ?? entries.first { $0.guid == mixed })?.certificate
    }

    /// The GUID with its first three fields byte-swapped (string order ⇄ EFI mixed-endian order).
    static func mixedEndian(_ guid: [UInt8]) -> [UInt8] {
        guard guid.count == 16 else { return guid }
        return Array(guid[0..<4].reversed()) + Array(guid[4..<6].reversed()) + Array(guid[6..<8].reversed()) + Array(guid[8...])
    }

    /// The chain for ``Evidence/certificates``, leaf first: the VCEK (or, for a VLEK-signed report, the
    /// VLEK), then the ASK (ASVK) and ARK when present. Empty when the table lacks the leaf: the verifier
    /// must then find the leaf elsewhere (AMD KDS or a cache), and an intermediate alone would be misread
    /// as a leaf.
    public func chain(for signingKey: SNPReport.SigningKey) -> [[UInt8]] {
        let leafGUID = signingKey == .vlek ? Self.vlekGUID : Self.vcekGUID
        guard let leaf = certificate(leafGUID) else { return [] }
        return [leaf] + [Self.askGUID, Self.arkGUID].compactMap { certificate($0) }
    }

    /// The table in its wire form (entries, terminator, certificates), padded with zeros to `pageAligned`
    /// bytes when given. For fakes and tests.
    public func serialized(paddedTo pageAligned: Int? = nil) -> [UInt8] {
        var header: [UInt8] = []
        var body: [UInt8] = []
        let dataStart = (entries.count + 1) * Self.entryByteCount
        for entry in entries {
            header += entry.guid
            header += LittleEndian.bytes(UInt32(dataStart + body.count)) + LittleEndian.bytes(UInt32(entry.certificate.count))
            body += entry.certificate
        }
        header += [UInt8](repeating: 0, count: Self.entryByteCount)
        var bytes = header + body
        if let pageAligned, bytes.count < pageAligned {
            bytes += [UInt8](repeating: 0, count: pageAligned - bytes.count)
        }
        return bytes
    }

    /// `VCEK`, `VLEK`, `ASK`, `ARK` or the GUID in text.
    static func name(_ guid: [UInt8]) -> String {
        let known = [vcekGUID, vlekGUID, askGUID, arkGUID].contains(mixedEndian(guid)) ? mixedEndian(guid) : guid
        return switch known {
        case vcekGUID: "VCEK"
        case vlekGUID: "VLEK"
        case askGUID: "ASK"
        case arkGUID: "ARK"
        default: "GUID " + Hex.encode(guid)
        }
    }

    private static func guid(_ hex: String) -> [UInt8] { Hex.decode(hex) ?? [] }
}
