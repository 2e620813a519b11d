import EnclavaAttestation
import EnclavaCrypto

/// The Intel TDX backend: the runtime runs in a trust domain. Evidence is a TD quote (v4 or v5) from
/// configfs-tsm (`tdx_guest` provider); its PCK chain is inside the quote, so ``Evidence/certificates`` is
/// empty. The measurement is the quote's MRTD.
///
/// **Sealing:** TDX has no hardware sealing key (unlike SEV-SNP's derived keys and SGX's sealing keys).
/// Without a provisioned secret, ``sealingKey(purpose:)`` fails with `.sealingUnsupported`. A deployment
/// that needs sealing gives the platform a secret that a key broker released to this TD after verifying
/// its quote; purpose keys are then derived from that secret and bound to MRTD.
public struct TDXPlatform: TEEPlatform {
    /// `tdx`.
    public var backend: String { "tdx" }
    /// Always false.
    public var isSimulated: Bool { false }
    /// MRTD (48 bytes), from the platform's own quote.
    public let measurement: [UInt8]
    /// RTMR0…3 at start (for logs; they can be extended later).
    public let initialRTMRs: [[UInt8]]
    let configFS: ConfigFSTSM
    let sealingSecret: SecureBytes?

    /// Salt of the sealing-key derivation from a provisioned secret.
    public static let sealingSalt = "enclava-tdx-sealing-v1"

    /// Opens configfs-tsm under `tsmRoot` and takes one quote to learn MRTD.
    /// - Parameters:
    ///   - tsmRoot: the configfs-tsm report directory.
    ///   - sealingSecret: a secret released to this TD after attestation (at least 32 bytes); nil: no sealing.
    /// - Throws: ``PlatformError`` `.unavailable` when configfs-tsm is missing or not served by `tdx_guest`.
    public init(tsmRoot: String = ConfigFSTSM.defaultRoot, sealingSecret: SecureBytes? = nil) throws {
        try self.init(configFS: ConfigFSTSM(root: tsmRoot), sealingSecret: sealingSecret)
    }

    init(configFS: ConfigFSTSM, sealingSecret: SecureBytes?) throws {
        if let sealingSecret, sealingSecret.count < 32 {
            throw PlatformError(.sealingFailed, "a TDX sealing secret must have at least 32 bytes, got \(sealingSecret.count)")
        }
        guard configFS.isPresent else {
            throw PlatformError(.unavailable, "TDX quotes come from configfs-tsm, and \(configFS.root) does not exist; "
                + "run inside a TDX guest with Linux ≥ 6.7 (CONFIG_TSM_REPORTS, tdx-guest driver) and configfs mounted "
                + "(`mount -t configfs none /sys/kernel/config`), or use --backend sim")
        }
        self.configFS = configFS
        self.sealingSecret = sealingSecret
        let (quote, _) = try Self.quote(configFS, reportData: SecureRandom.bytes(count: 64))
        measurement = quote.body.mrTD
        initialRTMRs = quote.body.rtmrs
    }

    /// A TD quote over `reportData`.
    /// - Throws: ``PlatformError``; `.invalidEvidence` when the quote does not parse, does not carry
    ///   `reportData` or has another MRTD than at start.
    public func evidence(reportData: [UInt8]) throws -> Evidence {
        try PlatformSupport.checkReportData(reportData)
        let (quote, blob) = try Self.quote(configFS, reportData: reportData)
        guard quote.body.mrTD == measurement else {
            throw PlatformError(.invalidEvidence, "the new quote's MRTD differs from this TD's; the attestation "
                + "interface is not answering for this TD")
        }
        return Evidence(platform: .tdx, blob: blob, certificates: [])
    }

    /// With a provisioned secret: `HKDF-SHA384(secret, salt "enclava-tdx-sealing-v1", info purpose ‖ MRTD)`.
    /// - Throws: ``PlatformError`` `.sealingUnsupported` without one: TDX has no hardware sealing key.
    public func sealingKey(purpose: String) throws -> SecureBytes {
        guard let sealingSecret else {
            throw PlatformError(.sealingUnsupported, "TDX has no hardware sealing key, so data sealed to a platform "
                + "cannot be opened in a TD; seal the image's key to a secret that your key broker releases to this TD "
                + "after verifying its quote, and give that secret to the platform")
        }
        return try PlatformSupport.purposeKey(from: sealingSecret, salt: Self.sealingSalt, purpose: purpose, binding: measurement)
    }

    static func quote(_ configFS: ConfigFSTSM, reportData: [UInt8]) throws -> (TDXQuote, [UInt8]) {
        let result = try configFS.report(inblob: reportData, expectedProvider: .tdxGuest)
        let quote: TDXQuote
        do {
            quote = try TDXQuote(parsing: result.outblob)
        } catch {
            throw PlatformError(.invalidEvidence, "the TD quote from configfs-tsm does not parse: \(error)")
        }
        let blob = try PlatformSupport.trimmedQuote(result.outblob, byteCount: quote.byteCount, what: "TD quote")
        try PlatformSupport.checkEchoed(reportData: quote.body.reportData, requested: reportData, what: "TD quote")
        return (quote, blob)
    }
}
