import ArgumentParser
import EnclavaAttestation
import EnclavaCrypto
import Foundation

/// `enclava collateral …`: the client's own Intel collateral, for machines that cannot reach Intel PCS.
struct CollateralCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collateral",
        abstract: "Manage a client-side cache of Intel collateral (TCB Info, QE Identity, CRLs) for TDX and SGX.",
        subcommands: [CollateralImport.self]
    )
}

/// `enclava collateral import`: checks saved Intel PCS/PCCS responses (or a dcap-qvl collateral JSON) and stores
/// them in a cache folder by platform kind and FMSPC, for `--collateral-cache DIR`.
struct CollateralImport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Check saved Intel PCS/PCCS responses and store them in a collateral cache folder.",
        discussion: """
            TDX and SGX evidence verifies only with Intel's collateral. Save, on a machine that can reach Intel PCS \\
            (https://api.trustedservices.intel.com) or your PCCS, for the platform's FMSPC:
              --tcb-info       body of GET /tdx/certification/v4/tcb?fmspc=… (SGX: /sgx/certification/v4/tcb?fmspc=…)
              --qe-identity    body of GET /tdx/certification/v4/qe/identity (SGX: /sgx/certification/v4/qe/identity)
              --tcb-info-issuer-chain   the TCB-Info-Issuer-Chain response header (PEM, URL-encoded or not)
              --qe-identity-issuer-chain the SGX-Enclave-Identity-Issuer-Chain header (default: the TCB Info's)
              --pck-crl        body of GET /sgx/certification/v4/pckcrl?ca=platform|processor (DER, PEM or hex)
              --root-ca-crl    https://certificates.trustedservices.intel.com/IntelSGXRootCA.der (DER, PEM or hex)
            or one --dcap-qvl FILE (dcap-qvl's collateral JSON). The signatures and issuer chains are checked to \\
            the pinned Intel SGX Root CA (at --at, default the documents' issue date), then the collateral is \\
            written to DIR/tdx-FMSPC.json or DIR/sgx-FMSPC.json, replacing an older one. Clients use it with \\
            `enclava infer|verify-evidence --collateral-cache DIR`; it is re-checked, dates included, at every use.
            """
    )

    @Option(help: "The cache folder (created when missing).")
    var cache: String

    @Option(name: .customLong("dcap-qvl"), help: "A dcap-qvl collateral JSON file (instead of the PCS responses).")
    var dcapQVL: String?

    @Option(name: .customLong("tcb-info"), help: "Saved PCS TCB Info response body.")
    var tcbInfo: String?

    @Option(name: .customLong("qe-identity"), help: "Saved PCS QE Identity response body.")
    var qeIdentity: String?

    @Option(name: .customLong("tcb-info-issuer-chain"), help: "Saved TCB-Info-Issuer-Chain header value.")
    var tcbInfoIssuerChain: String?

    @Option(name: .customLong("qe-identity-issuer-chain"), help: "Saved SGX-Enclave-Identity-Issuer-Chain header value.")
    var qeIdentityIssuerChain: String?

    @Option(name: .customLong("pck-crl"), help: "Saved PCK CRL (the CA that issued the platform's PCK certificate).")
    var pckCRL: String?

    @Option(name: .customLong("root-ca-crl"), help: "Saved Intel SGX Root CA CRL.")
    var rootCACRL: String?

    @Option(help: "Check the signatures at this time, RFC 3339 (default: the documents' issue date).")
    var at: String?

    @Flag(name: .customLong("allow-simulation"), help: "Accept collateral signed by the local simulated Intel root (development only).")
    var allowSimulation = false

    @Option(name: .customLong("sim-home"), help: "With --allow-simulation: simulated platform home.")
    var simHome: String?

    mutating func run() async throws {
        let collateral = try load()
        var roots = IntelRootCertificates.all
        if allowSimulation { roots.append(try SimulatedIntelPlatform.load(home: CLI.simHome(simHome)).root) }
        let time = try at.map { try EvidenceFileFormat.time($0) }
        let entry: QuoteCollateralCache.Entry
        do {
            entry = try collateral.checkSignatures(at: time, roots: roots)
        } catch let error as AttestationError {
            throw CLIError("the collateral does not check, nothing was imported: \(error)")
        }
        let stored: QuoteCollateralCache.Entry
        do {
            stored = try QuoteCollateralCache(directory: cache).store(collateral)
        } catch let error as AttestationError {
            throw CLIError(error.message)
        }
        print("imported \(entry.kind.rawValue) collateral for FMSPC \(Hex.encode(entry.fmspc)) -> \(stored.path)")
        print("  TCB Info     issued \(entry.issueDate), next update \(entry.nextUpdate), evaluation data number \(entry.tcbEvaluationDataNumber)")
        print("  signatures   verified (TCB Info, QE Identity, Root CA CRL)")
        if let next = ISO8601DateFormatter().date(from: entry.nextUpdate), next < Date() {
            CLI.note("note: this collateral's next update (\(entry.nextUpdate)) has passed; verification at the current "
                     + "time refuses it — import fresh responses from Intel PCS")
        }
    }

    /// The collateral from --dcap-qvl or the PCS responses; every part is required.
    private func load() throws -> QuoteCollateral {
        let parts: [(String, String?)] = [
            ("--tcb-info", tcbInfo), ("--qe-identity", qeIdentity), ("--tcb-info-issuer-chain", tcbInfoIssuerChain),
            ("--pck-crl", pckCRL), ("--root-ca-crl", rootCACRL),
        ]
        if let dcapQVL {
            guard parts.allSatisfy({ $0.1 == nil }), qeIdentityIssuerChain == nil else {
                throw CLIError("--dcap-qvl replaces the PCS response options; give one or the other")
            }
            do {
                return try QuoteCollateral(dcapQVLJSON: try EvidenceFileFormat.read(dcapQVL, what: "collateral file"))
            } catch let error as AttestationError {
                throw CLIError("\(dcapQVL): \(error.code.rawValue): \(error.message)")
            }
        }
        guard let tcbInfo, let qeIdentity, let tcbInfoIssuerChain, let pckCRL, let rootCACRL else {
            let missing = parts.filter { $0.1 == nil }.map(\.0)
            throw CLIError("the collateral is incomplete: missing \(missing.joined(separator: ", ")); every part is "
                           + "needed (TCB Info, QE Identity, their issuer chain, PCK CRL, Root CA CRL), or pass --dcap-qvl FILE")
        }
        do {
            return try QuoteCollateral(
                tcbInfoResponse: try EvidenceFileFormat.read(tcbInfo, what: "TCB Info response"),
                qeIdentityResponse: try EvidenceFileFormat.read(qeIdentity, what: "QE Identity response"),
                tcbInfoIssuerChainPEM: try Self.pem(tcbInfoIssuerChain), qeIdentityIssuerChainPEM: try qeIdentityIssuerChain.map(Self.pem),
                pckCRL: try Self.crl(pckCRL), rootCRL: try Self.crl(rootCACRL))
        } catch let error as AttestationError {
            throw CLIError("\(error.code.rawValue): \(error.message)")
        }
    }

    /// An issuer chain as saved from a response header: PEM, possibly URL-encoded.
    private static func pem(_ path: String) throws -> String {
        let text = String(decoding: try EvidenceFileFormat.read(path, what: "issuer chain"), as: UTF8.self)
        if text.contains("-----BEGIN") { return text }
        guard let decoded = text.trimmingCharacters(in: .whitespacesAndNewlines).removingPercentEncoding,
              decoded.contains("-----BEGIN")
        else { throw CLIError("\(path) is neither PEM certificates nor a URL-encoded issuer-chain header") }
        return decoded
    }

    /// A CRL as DER, PEM or hex text (PCCS answers hex).
    private static func crl(_ path: String) throws -> [UInt8] {
        let bytes = try EvidenceFileFormat.read(path, what: "CRL")
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if !text.isEmpty, text.count % 2 == 0, text.allSatisfy(\.isHexDigit), let decoded = Hex.decode(text) { return decoded }
        return bytes
    }
}
