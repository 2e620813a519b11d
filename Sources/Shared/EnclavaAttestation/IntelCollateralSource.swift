import EnclavaCrypto
import Foundation

/// Where a verifier finds Intel collateral for a TDX or SGX quote, beside what the host relays in
/// ``Evidence/collateral``. Intel evidence verifies **only** with complete collateral — TCB Info, QE Identity,
/// PCK CRL and Root CA CRL, each signed under the pinned Intel root — because without it the quoting enclave's
/// identity is unproven: a host controls provisioning-key access, so it can run its own quoting enclave,
/// have it certified by the genuine PCK, and sign a quote with any MRTD and report data.
///
/// Precedence: the client's ``collateral`` (e.g. `--collateral FILE`), then the ``cache`` entry for the quote's
/// platform kind and FMSPC (`--collateral-cache DIR`), then what the host relayed. Whatever is used is checked
/// in full; a host can only withhold it, which is a refusal (`COLLATERAL_MISSING`).
public struct IntelCollateralSource: Sendable {
    /// Collateral the client supplies for every Intel quote; it replaces the host's.
    public var collateral: QuoteCollateral?
    /// A folder of collateral by platform kind and FMSPC, filled by `enclava collateral import`.
    public var cache: QuoteCollateralCache?

    /// A source. Both nil: only the host's collateral is used.
    public init(collateral: QuoteCollateral? = nil, cache: QuoteCollateralCache? = nil) {
        self.collateral = collateral
        self.cache = cache
    }

    /// The parts a complete collateral has (``QuoteCollateral``).
    static let requiredParts = ["TCB Info", "QE Identity", "PCK CRL", "Root CA CRL"]

    /// How to supply collateral, for error messages.
    static let howToSupply =
        "supply Intel's collateral for this platform: the host relays it beside the evidence "
        + "(GetEvidenceResponse.collateral), or the client passes `--collateral FILE` (dcap-qvl collateral JSON) "
        + "or `--collateral-cache DIR` filled by `enclava collateral import` from saved Intel PCS/PCCS responses"

    /// The collateral to verify a quote of `kind` whose PCK names `fmspc` with: the client's, the cache's, then
    /// `relayed` (the host's).
    /// - Throws: ``AttestationError`` `COLLATERAL_MISSING` when there is none, `COLLATERAL_INVALID` when a
    ///   cache file is unreadable or malformed.
    func resolve(kind: IntelQuoteKind, fmspc: [UInt8]?, relayed: QuoteCollateral?) throws -> QuoteCollateral {
        if let collateral { return collateral }
        if let cache, let fmspc, let cached = try cache.load(kind: kind, fmspc: fmspc) { return cached }
        if let relayed { return relayed }
        let fmspcText = fmspc.map { " for FMSPC \(Hex.encode($0))" } ?? ""
        var consulted = "the host relayed none"
        if let cache {
            consulted += " and the cache \(cache.directory) has no \(fmspc.map { QuoteCollateralCache.fileName(kind: kind, fmspc: $0) } ?? "entry")"
        }
        throw AttestationError.collateralMissing(
            [],
            "no Intel collateral\(fmspcText) came with this \(kind.platform.rawValue.uppercased()) quote (\(consulted)): "
                + "without Intel's TCB Info (\(kind.tcbInfoID)), QE Identity (\(kind.qeIdentityID)) and PCK and Root CA "
                + "CRLs the quoting enclave's identity, revocation and TCB are unchecked — a host could sign it with "
                + "its own quoting enclave — so it is refused")
    }
}

/// The two kinds of Intel quote and the collateral documents each needs.
public enum IntelQuoteKind: String, Sendable, CaseIterable {
    /// A TDX quote (TCB Info `TDX`, QE Identity `TD_QE`).
    case tdx
    /// An SGX quote (TCB Info `SGX`, QE Identity `QE`).
    case sgx

    /// The evidence platform.
    public var platform: EvidencePlatform { self == .tdx ? .tdx : .sgx }
    /// The TCB Info `id`.
    public var tcbInfoID: String { self == .tdx ? "TDX" : "SGX" }
    /// The QE Identity `id`.
    public var qeIdentityID: String { self == .tdx ? "TD_QE" : "QE" }

    /// The kind whose TCB Info id is `id`.
    init?(tcbInfoID id: String) {
        guard let kind = Self.allCases.first(where: { $0.tcbInfoID == id }) else { return nil }
        self = kind
    }
}
