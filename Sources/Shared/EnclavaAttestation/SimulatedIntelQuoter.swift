import EnclavaCrypto
import Foundation

/// A simulated Intel quoting enclave: makes TDX quotes v4 and SGX DCAP quotes v3 byte for byte as
/// evidence-formats.md §2–3 lay them out, under the simulated PCK hierarchy of ``SimulatedIntelPlatform``.
///
/// Like Intel's QE it holds an **attestation key** (ECDSA P-256, generated when the quoter is created and
/// kept only in memory) that signs `header ‖ body`; a **QE report** whose report data is
/// `SHA-256(attestation key ‖ QE auth data) ‖ 0³²`, signed by the **PCK key**; and certification data
/// type 5 carrying the PEM chain PCK ← PCK Platform CA ← root. So the verifier runs exactly the checks it
/// runs on hardware quotes; only the root differs.
public struct SimulatedIntelQuoter: Sendable {
    /// The simulated hierarchy.
    public let platform: SimulatedIntelPlatform
    private let pckKey: ECDSAPrivateKey
    private let attestationKey: ECDSAPrivateKey
    /// The MRSIGNER the QE report carries: the simulated QE's, or (tests of a host-run quoting enclave
    /// certified by the genuine PCK) a foreign one.
    let qeMRSigner: [UInt8]

    /// Loads the PCK key and generates a fresh attestation key.
    /// - Throws: ``SimulatedPlatformError`` if the PCK key is unreadable or does not match.
    public init(platform: SimulatedIntelPlatform) throws {
        try self.init(platform: platform, qeMRSigner: SimulatedIntelPlatform.Identity.qeMRSigner)
    }

    /// **Attack simulation.** A quoter whose QE report names `qeMRSigner`: a quoting enclave that is not the one
    /// Intel's QE Identity describes, yet is certified by the platform's genuine PCK — what a host that controls
    /// provisioning-key access can run to sign quotes with any MRTD and report data. Verifiers refuse its quotes
    /// with `QE_IDENTITY_MISMATCH` (with collateral) or `COLLATERAL_MISSING` (without).
    /// - Throws: ``SimulatedPlatformError`` if the PCK key is unreadable or does not match.
    public init(platform: SimulatedIntelPlatform, qeMRSigner: [UInt8]) throws {
        self.platform = platform
        self.qeMRSigner = qeMRSigner
        pckKey = try platform.pckSigningKey()
        attestationKey = try ECDSAPrivateKey.generate(curve: .p256)
    }

    /// The attestation public key as quotes carry it: raw `X ‖ Y`, 64 bytes.
    public var attestationPublicKey: [UInt8] { attestationKey.publicKey.x + attestationKey.publicKey.y }

    /// A TDX quote v4 (TDX 1.0 body) with this `mrTD` (48 bytes), `rtmrs` (four of 48 bytes; zero by default)
    /// and `reportData` (64 bytes), not debug. The sim backend passes ``SimulatedTDXRegisters``.
    /// - Throws: ``SimulatedPlatformError`` `invalidArgument` for wrong sizes.
    public func tdxQuote(
        mrTD: [UInt8], rtmrs: [[UInt8]] = [[UInt8]](repeating: [UInt8](repeating: 0, count: 48), count: 4),
        reportData: [UInt8]
    ) throws -> [UInt8] {
        try Self.check(mrTD, 48, "MRTD")
        guard rtmrs.count == 4 else {
            throw SimulatedPlatformError(.invalidArgument, "a TD has 4 RTMRs, got \(rtmrs.count)")
        }
        for (index, rtmr) in rtmrs.enumerated() { try Self.check(rtmr, 48, "RTMR\(index)") }
        try Self.check(reportData, 64, "REPORTDATA")
        let id = SimulatedIntelPlatform.Identity.self
        var body = id.teeTCBSVN + id.mrSeam + [UInt8](repeating: 0, count: 48)  // MRSIGNERSEAM: 0 like Intel's
        body += [UInt8](repeating: 0, count: 8) + id.tdAttributes + id.xfam + mrTD
        body += [UInt8](repeating: 0, count: 3 * 48)  // MRCONFIGID, MROWNER, MROWNERCONFIG
        body += rtmrs.flatMap { $0 }  // RTMR0…3
        body += reportData
        var header = QuoteBytes.u16(4) + QuoteBytes.u16(QuoteHeader.ecdsaP256KeyType) + QuoteBytes.u32(QuoteHeader.teeTypeTDX)
        header += [0, 0, 0, 0] + QuoteHeader.intelQEVendorID + userData
        let signed = header + body
        let certification = try qeCertificationData(isvProdID: id.tdQEProdID)
        var signature = try sign(signed) + attestationPublicKey
        signature += QuoteBytes.u16(QuoteSignatureData.qeReportCertificationDataType)
            + QuoteBytes.u32(UInt32(certification.count)) + certification
        return signed + QuoteBytes.u32(UInt32(signature.count)) + signature
    }

    /// An SGX DCAP quote v3 with this `mrEnclave` (32 bytes) and `reportData` (64 bytes), not debug.
    /// - Throws: ``SimulatedPlatformError`` `invalidArgument` for wrong sizes.
    public func sgxQuote(mrEnclave: [UInt8], reportData: [UInt8]) throws -> [UInt8] {
        try Self.check(mrEnclave, 32, "MRENCLAVE")
        try Self.check(reportData, 64, "REPORTDATA")
        let id = SimulatedIntelPlatform.Identity.self
        let body = Self.reportBody(
            attributes: id.enclaveAttributes, mrEnclave: mrEnclave, mrSigner: id.enclaveMRSigner, isvProdID: 0,
            isvSVN: 0, reportData: reportData)
        var header = QuoteBytes.u16(3) + QuoteBytes.u16(QuoteHeader.ecdsaP256KeyType) + QuoteBytes.u32(0)
        header += QuoteBytes.u16(id.qeISVSVN) + QuoteBytes.u16(id.pceSVN) + QuoteHeader.intelQEVendorID + userData
        let signed = header + body
        let signature = try sign(signed) + attestationPublicKey + qeCertificationData(isvProdID: id.sgxQEProdID)
        return signed + QuoteBytes.u32(UInt32(signature.count)) + signature
    }

    /// `QE report ‖ QE report signature ‖ u16 auth size ‖ auth data ‖ u16 5 ‖ u32 size ‖ PEM chain`.
    private func qeCertificationData(isvProdID: UInt16) throws -> [UInt8] {
        let id = SimulatedIntelPlatform.Identity.self
        let binding = SHA2.sha256(attestationPublicKey + id.qeAuthData) + [UInt8](repeating: 0, count: 32)
        let qeReport = Self.reportBody(
            attributes: id.qeAttributes, mrEnclave: SHA2.sha256(Array("Enclava simulated QE \(isvProdID)".utf8)),
            mrSigner: qeMRSigner, isvProdID: isvProdID, isvSVN: id.qeISVSVN, reportData: binding)
        let chain = platform.pckChainPEM
        var data = qeReport + (try pckKey.signature(for: qeReport, digest: .sha256).rawRepresentation)
        data += QuoteBytes.u16(UInt16(id.qeAuthData.count)) + id.qeAuthData
        data += QuoteBytes.u16(QuoteSignatureData.pckChainCertificationDataType) + QuoteBytes.u32(UInt32(chain.count)) + chain
        return data
    }

    /// A 384-byte `sgx_report_body_t` (evidence-formats.md §3) with the simulated CPUSVN.
    static func reportBody(
        attributes: [UInt8], mrEnclave: [UInt8], mrSigner: [UInt8], isvProdID: UInt16, isvSVN: UInt16,
        reportData: [UInt8]
    ) -> [UInt8] {
        var body = SimulatedIntelPlatform.Identity.sgxTCBComponents  // CPUSVN
        body += QuoteBytes.u32(0) + [UInt8](repeating: 0, count: 12)  // MISCSELECT, reserved
        body += [UInt8](repeating: 0, count: 16) + attributes  // ISVEXTPRODID, ATTRIBUTES
        body += mrEnclave + [UInt8](repeating: 0, count: 32) + mrSigner + [UInt8](repeating: 0, count: 32)
        body += [UInt8](repeating: 0, count: 64)  // CONFIGID
        body += QuoteBytes.u16(isvProdID) + QuoteBytes.u16(isvSVN) + QuoteBytes.u16(0) + [UInt8](repeating: 0, count: 42)
        body += [UInt8](repeating: 0, count: 16) + reportData  // ISVFAMILYID, REPORTDATA
        return body
    }

    /// The header's user data: the PCK's platform instance id (as Intel's QE puts its QE id), then zeros.
    private var userData: [UInt8] {
        Array(((platform.pckExtension.platformInstanceID ?? []) + [UInt8](repeating: 0, count: 20)).prefix(20))
    }

    private func sign(_ message: [UInt8]) throws -> [UInt8] {
        try attestationKey.signature(for: message, digest: .sha256).rawRepresentation
    }

    private static func check(_ value: [UInt8], _ count: Int, _ field: String) throws {
        guard value.count == count else {
            throw SimulatedPlatformError(.invalidArgument, "\(field) must be \(count) bytes, got \(value.count)")
        }
    }
}

/// Little-endian integers for quote layouts.
enum QuoteBytes {
    static func u16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }
    static func u32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
}
