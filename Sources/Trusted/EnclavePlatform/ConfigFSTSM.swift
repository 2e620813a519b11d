#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import EnclavaCrypto

/// The Linux configfs-tsm report interface (`/sys/kernel/config/tsm/report`, kernel ≥ 6.7,
/// `Documentation/ABI/testing/configfs-tsm-report`), which produces SEV-SNP reports and TDX quotes.
///
/// One request: `mkdir` a fresh report entry (one per request, as the kernel documentation advises), read
/// `provider` and `generation`, write `inblob` (and `privlevel`), read `outblob` and `auxblob`, read
/// `generation` again — it must equal the first value plus the number of writes, or another writer
/// changed the entry, and the request is retried on a new entry — and `rmdir` the entry.
public struct ConfigFSTSM: Sendable {
    /// Where the kernel exposes report entries.
    public static let defaultRoot = "/sys/kernel/config/tsm/report"
    /// `TSM_REPORT_INBLOB_MAX`.
    public static let inblobByteCount = 64
    /// The largest outblob accepted (kernels cap it at 32 KiB, later ones at 16 MiB; quotes are a few KiB).
    public static let maxOutblobByteCount = 1 << 20
    /// The largest auxblob accepted (the SNP certificate table is at most `SEV_FW_BLOB_MAX_SIZE`, 16 KiB).
    public static let maxAuxblobByteCount = 1 << 20
    /// Requests whose generation check fails are retried this many times in all before ``PlatformError/Code/conflict``.
    public static let maxAttempts = 3

    /// The `provider` attribute: who produces the blobs.
    public enum Provider: String, Sendable {
        /// The AMD SEV-SNP guest driver: outblob is the 1184-byte ATTESTATION_REPORT, auxblob the GHCB certificate table.
        case sevGuest = "sev_guest"
        /// The Intel TDX guest driver: outblob is a TD quote (v4 or v5).
        case tdxGuest = "tdx_guest"
    }

    /// What one request produced.
    public struct Report: Sendable, Equatable {
        /// The raw `provider` text (``Provider`` when known).
        public var provider: String
        /// The evidence.
        public var outblob: [UInt8]
        /// The auxiliary blob (SNP: certificate table), nil when absent or empty.
        public var auxblob: [UInt8]?
        /// The entry's generation after the request.
        public var generation: UInt64
    }

    /// The report directory (``defaultRoot`` on a real guest; a temporary folder in tests).
    public let root: String
    let files: any PlatformFileSystem
    let entryName: @Sendable () -> String

    /// A client of the report interface under `root`.
    public init(root: String = ConfigFSTSM.defaultRoot) {
        self.init(root: root, files: POSIXFileSystem())
    }

    init(root: String, files: any PlatformFileSystem, entryName: @escaping @Sendable () -> String = ConfigFSTSM.uniqueEntryName) {
        self.root = root
        self.files = files
        self.entryName = entryName
    }

    /// A name no other request of this or another process uses: `enclava-<pid>-<16 hex digits>`.
    @Sendable static func uniqueEntryName() -> String {
        "enclava-\(getpid())-\(Hex.encode(SecureRandom.bytes(count: 8)))"
    }

    /// True when the report directory exists.
    public var isPresent: Bool { files.exists(atPath: root) }

    /// Produces one report over `inblob`.
    ///
    /// - Parameters:
    ///   - inblob: exactly 64 bytes of report data.
    ///   - privilegeLevel: SNP VMPL to request (0…3, at least `privlevel_floor`); nil leaves the kernel's default.
    ///   - expectedProvider: refuse a machine whose provider is another one (a TDX guest asked for SNP).
    /// - Throws: ``PlatformError``: `.unavailable` (no configfs-tsm, no provider, no permission, wrong provider),
    ///   `.invalidReportData`, `.evidenceFailed` (the provider refused), `.invalidEvidence` (empty or oversized
    ///   blob), `.busy`, `.conflict` (another writer on every attempt).
    public func report(inblob: [UInt8], privilegeLevel: UInt32? = nil, expectedProvider: Provider? = nil) throws -> Report {
        guard inblob.count == Self.inblobByteCount else {
            throw PlatformError(.invalidReportData,
                                "configfs-tsm inblob must be \(Self.inblobByteCount) bytes, got \(inblob.count)")
        }
        if let privilegeLevel, privilegeLevel > 3 {
            throw PlatformError(.evidenceFailed, "privilege level \(privilegeLevel) is outside 0…3 (TSM_REPORT_PRIVLEVEL_MAX)")
        }
        var conflicts: [String] = []
        for _ in 0..<Self.maxAttempts {
            switch try attempt(inblob: inblob, privilegeLevel: privilegeLevel, expectedProvider: expectedProvider) {
            case .done(let report): return report
            case .conflict(let detail): conflicts.append(detail)
            }
        }
        throw PlatformError(.conflict, "another writer changed the configfs-tsm report entry on each of "
            + "\(Self.maxAttempts) attempts (\(conflicts.joined(separator: "; "))); find the other process writing under "
            + "\(root) and give each requester its own entry")
    }

    private enum Attempt {
        case done(Report)
        case conflict(String)
    }

    private func attempt(inblob: [UInt8], privilegeLevel: UInt32?, expectedProvider: Provider?) throws -> Attempt {
        let entry = try makeEntry()
        defer { try? files.removeDirectory(atPath: entry) }

        let provider = try readProvider(entry)
        if let expectedProvider, provider != expectedProvider.rawValue {
            throw PlatformError(.unavailable, "configfs-tsm at \(root) is served by `\(provider)`, not "
                + "`\(expectedProvider.rawValue)`: this guest is not the TEE the backend needs; pick the backend "
                + "that matches (`sev_guest` is sev-snp, `tdx_guest` is tdx)")
        }
        let start = try readGeneration(entry)
        var writes: UInt64 = 0
        try writeAttribute(entry, "inblob", inblob)
        writes += 1
        if let privilegeLevel {
            try writePrivilegeLevel(entry, privilegeLevel)
            writes += 1
        }
        let outblob = try readBlob(entry, "outblob", maxBytes: Self.maxOutblobByteCount)
        guard !outblob.isEmpty else {
            throw PlatformError(.invalidEvidence, "\(entry)/outblob is empty; the `\(provider)` provider produced no evidence")
        }
        var auxblob: [UInt8]?
        if files.exists(atPath: entry + "/auxblob") {
            let aux = try readBlob(entry, "auxblob", maxBytes: Self.maxAuxblobByteCount)
            auxblob = aux.isEmpty ? nil : aux
        }
        let end = try readGeneration(entry)
        let (expected, overflow) = start.addingReportingOverflow(writes)
        guard !overflow, end == expected else {
            return .conflict("generation \(end), expected \(start) + \(writes)")
        }
        return .done(Report(provider: provider, outblob: outblob, auxblob: auxblob, generation: end))
    }

    func makeEntry() throws -> String {
        guard files.exists(atPath: root) else {
            throw PlatformError(.unavailable, "configfs-tsm is not available: \(root) does not exist; this needs a "
                + "Linux ≥ 6.7 confidential guest with CONFIG_TSM_REPORTS, configfs mounted "
                + "(`mount -t configfs none /sys/kernel/config`) and the sev-guest or tdx-guest driver loaded")
        }
        for _ in 0..<3 {
            let entry = root + "/" + entryName()
            do throws(SystemCallError) {
                try files.makeDirectory(atPath: entry)
                return entry
            } catch where error.code == EEXIST {
                continue
            } catch where error.code == EACCES || error.code == EPERM || error.code == EROFS {
                throw PlatformError(.unavailable, "cannot create a report entry: \(error); run the enclave runtime "
                    + "as root (configfs-tsm entries are root-only)")
            } catch {
                throw PlatformError(.unavailable, "cannot create a report entry: \(error)")
            }
        }
        throw PlatformError(.evidenceFailed, "cannot find a free report entry name under \(root)")
    }
}
