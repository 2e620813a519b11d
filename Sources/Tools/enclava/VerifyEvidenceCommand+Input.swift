import ArgumentParser
import EnclavaAttestation
import EnclavaCrypto
import Foundation

/// Reading evidence files, certificates and collateral for `enclava verify-evidence` and
/// `enclava policy create --from-evidence`.
enum EvidenceFileFormat {
    /// `--platform` values.
    enum Platform: String, ExpressibleByArgument, CaseIterable {
        case snp, tdx, sgx, nitro, cca, psa

        /// `snp` or `sev-snp` (the name `--backend` and policies use), case-insensitive.
        init?(argument: String) {
            let name = argument.lowercased()
            self.init(rawValue: name == "sev-snp" ? "snp" : name)
        }

        var evidencePlatform: EvidencePlatform {
            switch self {
            case .snp: .sevSNP
            case .tdx: .tdx
            case .sgx: .sgx
            case .nitro: .nitro
            case .cca: .cca
            case .psa: .psa
            }
        }
    }

    /// Largest evidence, certificate or collateral file read.
    static let maxFileBytes = 4 << 20
    /// Largest number of certificate files read from `--certs` folders.
    static let maxCertificateFiles = 64

    /// Reads the evidence file and the certificates and collateral given with it.
    static func load(_ path: String, platform: Platform, certs: [String], collateral: String?) throws -> Evidence {
        var blob = try decodeText(read(path, what: "evidence file"), path: path)
        var certificates: [[UInt8]] = []
        if platform == .snp, blob.first == UInt8(ascii: "{") {
            do {
                (blob, certificates) = try SNPReport.fromVirteeJSON(blob)
            } catch let error as AttestationError {
                throw CLIError("\(path): \(error.message)")
            }
        }
        var extra = EvidenceCollateral()
        if platform != .snp, !certs.isEmpty {
            throw CLIError("--certs applies to SEV-SNP only; a \(platform.rawValue) quote carries its own certificate chain")
        }
        for path in certs {
            try addCertificates(from: path, to: &extra)
        }
        if let collateral {
            let bytes = try read(collateral, what: "collateral file")
            switch platform {
            case .snp:
                extra.snpCertificateTable = bytes
            case .tdx, .sgx:
                do {
                    extra.quote = try QuoteCollateral(dcapQVLJSON: bytes)
                } catch let error as AttestationError {
                    throw CLIError("\(collateral): \(error.code.rawValue): \(error.message)")
                }
            case .nitro:
                throw CLIError("--collateral does not apply to nitro; the document carries its own certificate chain")
            case .cca, .psa:
                throw CLIError("--collateral does not apply to \(platform.rawValue); give the platform key with --cpak or --endorsements")
            }
        }
        let hasCollateral = extra.quote != nil || extra.snpCertificateTable != nil || !extra.certificates.isEmpty
        return Evidence(
            platform: platform.evidencePlatform, blob: blob, certificates: certificates,
            collateral: hasCollateral ? extra : nil)
    }

    /// The client's own Intel collateral: `--collateral FILE` (used for every Intel quote) and
    /// `--collateral-cache DIR` (looked up by platform kind and FMSPC).
    static func intelCollateral(file: String?, cache: String?) throws -> IntelCollateralSource {
        var source = IntelCollateralSource()
        if let file {
            let bytes = try read(file, what: "collateral file")
            do {
                source.collateral = try QuoteCollateral(dcapQVLJSON: bytes)
            } catch let error as AttestationError {
                throw CLIError("\(file): \(error.code.rawValue): \(error.message)")
            }
        }
        if let cache {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: cache, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw CLIError("--collateral-cache \(cache) is not a folder; fill one with `enclava collateral import --cache \(cache) …`")
            }
            source.cache = QuoteCollateralCache(directory: cache)
        }
        return source
    }

    /// A file's bytes, with a one-line error naming it.
    static func read(_ path: String, what: String) throws -> [UInt8] {
        try CLI.requireReadableFile(path, what: what)
        guard let data = FileManager.default.contents(atPath: path) else { throw CLIError("cannot read \(what) \(path)") }
        guard data.count <= maxFileBytes else {
            throw CLIError("\(what) \(path) is \(data.count) bytes, more than \(maxFileBytes); it is not evidence")
        }
        return Array(data)
    }

    /// `.hex` and `.b64`/`.base64` files (or text that is entirely hex or base64) decoded; other bytes as they are.
    static func decodeText(_ bytes: [UInt8], path: String) throws -> [UInt8] {
        let lower = path.lowercased()
        let text = String(decoding: bytes, as: UTF8.self).filter { !$0.isWhitespace }
        if lower.hasSuffix(".hex") {
            guard let decoded = Hex.decode(text) else { throw CLIError("\(path) is not hex text") }
            return decoded
        }
        if lower.hasSuffix(".b64") || lower.hasSuffix(".base64") {
            guard let decoded = Data(base64Encoded: text) else { throw CLIError("\(path) is not base64 text") }
            return Array(decoded)
        }
        return bytes
    }

    /// A `--certs` argument: a folder (every certificate file in it, a KDS cache), a PEM file (any number of
    /// certificates), a DER certificate, or an SNP certificate table.
    static func addCertificates(from path: String, to collateral: inout EvidenceCollateral) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CLIError("certificate file \(path) does not exist")
        }
        if isDirectory.boolValue {
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
            let files = names.map { (path as NSString).appendingPathComponent($0) }.filter {
                var folder: ObjCBool = false
                return FileManager.default.fileExists(atPath: $0, isDirectory: &folder) && !folder.boolValue
            }
            guard files.count <= maxCertificateFiles else {
                throw CLIError("certificate folder \(path) holds \(files.count) files, more than \(maxCertificateFiles)")
            }
            // A folder is a cache: files that are not certificates (notes, reports) are skipped.
            for file in files { try? addCertificates(from: file, to: &collateral) }
            return
        }
        let bytes = try read(path, what: "certificate file")
        let text = String(decoding: bytes, as: UTF8.self)
        if text.contains("-----BEGIN CERTIFICATE-----") {
            do {
                collateral.certificates += try Certificate.parseChain(pem: text).map(\.derRepresentation)
            } catch {
                throw CLIError("\(path) holds a PEM certificate that does not parse: \(error)")
            }
        } else if (try? Certificate(derRepresentation: bytes)) != nil {
            collateral.certificates.append(bytes)
        } else if let table = try? SNPCertificates(certificateTable: bytes), table != SNPCertificates() {
            collateral.snpCertificateTable = bytes
        } else {
            throw CLIError("\(path) is neither a PEM or DER certificate nor an SNP certificate table")
        }
    }

    /// `--at` as RFC 3339 (fractional seconds allowed), or now.
    static func time(_ text: String?) throws -> Date {
        guard let text else { return Date() }
        let plain = ISO8601DateFormatter()
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard let date = plain.date(from: text) ?? fractional.date(from: text) else {
            throw CLIError("--at \(text) is not an RFC 3339 time such as 2025-06-01T00:00:00Z")
        }
        return date
    }

    /// The local simulator's roots, when the policy allows simulation and a simulator exists.
    static func simulatedRoots(_ simHome: String?, policy: AttestationPolicy) -> [Certificate] {
        guard policy.allowSimulation, let platform = try? SimulatedPlatform.load(home: CLI.simHome(simHome)) else { return [] }
        return platform.simulatedRoots()
    }

    /// `policy` with only its platform and simulation rules: the claims of evidence it would refuse for a pin,
    /// debug or TCB reason can still be shown.
    static func permissive(_ policy: AttestationPolicy) -> AttestationPolicy {
        var permissive = AttestationPolicy(
            allowedPlatforms: policy.allowedPlatforms, allowSimulation: policy.allowSimulation, allowDebug: true,
            simulatedRootFingerprints: policy.simulatedRootFingerprints)
        permissive.allowedTCBStatuses = TCBStatus.allCases
        permissive.armCPAKs = policy.armCPAKs
        return permissive
    }
}
