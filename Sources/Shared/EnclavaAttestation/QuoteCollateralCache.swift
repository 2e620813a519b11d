import EnclavaCrypto
import Foundation

/// A client-side folder of Intel collateral, one file per quote kind and FMSPC
/// (`tdx-b0c06f000000.json`, `sgx-00a067110000.json`) in the dcap-qvl JSON layout of
/// ``QuoteCollateral/dcapQVLJSON``. `enclava collateral import` fills it from saved Intel PCS or PCCS responses
/// (machines that run clients often cannot reach Intel); `--collateral-cache DIR` makes a verifier use it
/// (``IntelCollateralSource``).
///
/// Nothing in the folder is trusted: every document is signed and is checked against the pinned Intel root each
/// time it is used, so a file someone else wrote can at worst make verification fail.
public struct QuoteCollateralCache: Sendable, Equatable {
    /// Largest cache file read.
    static let maxFileBytes = 4 << 20

    /// The folder.
    public let directory: String

    /// A cache in `directory` (created by ``store(_:)`` when missing).
    public init(directory: String) {
        self.directory = directory
    }

    /// What a stored collateral is for, read from its (not yet verified) TCB Info.
    public struct Entry: Sendable, Equatable {
        /// TDX or SGX.
        public let kind: IntelQuoteKind
        /// The FMSPC (6 bytes) the TCB Info is for.
        public let fmspc: [UInt8]
        /// The TCB Info's `issueDate` and `nextUpdate` (RFC 3339).
        public let issueDate: String
        public let nextUpdate: String
        /// The TCB Info's `tcbEvaluationDataNumber`.
        public let tcbEvaluationDataNumber: Int
        /// The file it is stored in.
        public let path: String
    }

    /// `tdx-<fmspc hex>.json` or `sgx-<fmspc hex>.json`.
    public static func fileName(kind: IntelQuoteKind, fmspc: [UInt8]) -> String {
        "\(kind.rawValue)-\(Hex.encode(fmspc)).json"
    }

    /// The path of the entry for `kind` and `fmspc`.
    public func path(kind: IntelQuoteKind, fmspc: [UInt8]) -> String {
        (directory as NSString).appendingPathComponent(Self.fileName(kind: kind, fmspc: fmspc))
    }

    /// The collateral stored for `kind` and `fmspc`, or nil when the folder has none.
    /// - Throws: ``AttestationError`` `COLLATERAL_INVALID` naming the file when it is unreadable or malformed,
    ///   `COLLATERAL_MISSING` when it lacks a part.
    func load(kind: IntelQuoteKind, fmspc: [UInt8]) throws -> QuoteCollateral? {
        let path = path(kind: kind, fmspc: fmspc)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path), data.count <= Self.maxFileBytes else {
            throw AttestationError.collateral(
                path, "the collateral cache file \(path) is unreadable or larger than \(Self.maxFileBytes) bytes; "
                    + "import it again with `enclava collateral import`")
        }
        do {
            return try QuoteCollateral(dcapQVLJSON: Array(data))
        } catch let error as AttestationError {
            throw AttestationError(
                error.code, field: error.field, expected: error.expected, actual: error.actual,
                "\(path): \(error.message)")
        }
    }

    /// What `collateral` is for: the kind and FMSPC of its TCB Info, checked against its QE Identity's id.
    /// - Throws: ``AttestationError`` `COLLATERAL_INVALID` when the documents are not a TDX or SGX TCB Info v3 and
    ///   the matching QE Identity.
    public static func describe(_ collateral: QuoteCollateral, path: String = "") throws -> Entry {
        struct Header: Decodable {
            let id: String?
            let version: Int
            let fmspc: String
            let issueDate: String
            let nextUpdate: String
            let tcbEvaluationDataNumber: Int
        }
        struct Identity: Decodable { let id: String }
        guard let header = try? JSONDecoder().decode(Header.self, from: Data(collateral.tcbInfo)),
              let fmspc = Hex.decode(header.fmspc), fmspc.count == 6
        else {
            throw AttestationError.collateral(
                "TCB Info", "the TCB Info is not an Intel TCB Info (id, version, fmspc, dates); save the body of the "
                    + "PCS `tcb` response")
        }
        guard header.version == 3, let kind = IntelQuoteKind(tcbInfoID: header.id ?? "") else {
            throw AttestationError.collateral(
                "TCB Info id", expected: "TDX or SGX version 3", actual: "\(header.id ?? "none") version \(header.version)",
                "only TDX and SGX TCB Info v3 are supported; fetch it from the PCS v4 API")
        }
        guard let identity = try? JSONDecoder().decode(Identity.self, from: Data(collateral.qeIdentity)),
              identity.id == kind.qeIdentityID
        else {
            throw AttestationError.collateral(
                "QE Identity id", expected: kind.qeIdentityID,
                actual: (try? JSONDecoder().decode(Identity.self, from: Data(collateral.qeIdentity)).id) ?? "none",
                "a \(kind.tcbInfoID) TCB Info goes with the \(kind.qeIdentityID) QE Identity; save the matching "
                    + "`qe/identity` response")
        }
        return Entry(
            kind: kind, fmspc: fmspc, issueDate: header.issueDate, nextUpdate: header.nextUpdate,
            tcbEvaluationDataNumber: header.tcbEvaluationDataNumber, path: path)
    }

    /// Stores `collateral` under its kind and FMSPC (replacing an older entry), atomically, creating the folder.
    /// - Returns: what was stored, and where.
    /// - Throws: ``AttestationError`` `COLLATERAL_INVALID` for documents that are not TDX/SGX collateral or a
    ///   folder that cannot be written.
    @discardableResult
    public func store(_ collateral: QuoteCollateral) throws -> Entry {
        let described = try Self.describe(collateral)
        let path = path(kind: described.kind, fmspc: described.fmspc)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try AtomicFile.write(collateral.dcapQVLJSON, to: path, mode: 0o644)
        } catch {
            throw AttestationError.collateral(directory, "cannot write the collateral cache \(path): \(error)")
        }
        return Entry(
            kind: described.kind, fmspc: described.fmspc, issueDate: described.issueDate,
            nextUpdate: described.nextUpdate, tcbEvaluationDataNumber: described.tcbEvaluationDataNumber, path: path)
    }
}
