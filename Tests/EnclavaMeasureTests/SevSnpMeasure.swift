import EnclavaTesting
import Foundation

/// virtee's `sev-snp-measure` from PyPI, installed by `make measure-venv` into `.build/measure-venv` (never the
/// system Python): the reference our SEV-SNP launch digest must equal byte for byte.
enum SevSnpMeasure {
    /// The pinned version (`make measure-venv` installs exactly this one).
    static let version = "0.0.13"

    enum Availability: Equatable {
        case installed(URL)
        /// PyPI cannot be reached, so the reference cannot be installed: the comparisons are skipped.
        case pypiUnreachable
        /// PyPI answers but the install failed: the comparisons run and fail with this text.
        case installFailed(String)
    }

    static var root: URL { TestPaths.packageRoot() }
    static var executable: URL { root.appendingPathComponent(".build/measure-venv/bin/sev-snp-measure") }

    /// The tool, installed on first use with the Makefile's own recipe (once per test process).
    static let availability: Availability = {
        if FileManager.default.isExecutableFile(atPath: executable.path) { return .installed(executable) }
        let make = try? TestProcess.run(URL(fileURLWithPath: "/usr/bin/make"), ["-s", "-C", root.path, "measure-venv"], timeout: 600)
        if FileManager.default.isExecutableFile(atPath: executable.path) { return .installed(executable) }
        let probe = "import urllib.request; urllib.request.urlopen('https://pypi.org/simple/sev-snp-measure/', timeout=15)"
        let reachable = (try? TestProcess.run(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", probe], timeout: 30))?.status == 0
        return reachable ? .installFailed("make measure-venv failed: \(make?.stderr ?? "could not run make")") : .pypiUnreachable
    }()

    /// Whether the comparisons run: everywhere except when PyPI is unreachable (an install that fails with
    /// PyPI reachable is a failure, not a skip).
    static var shouldRun: Bool { availability != .pypiUnreachable }

    /// `sev-snp-measure --mode snp --output-format hex ARGS…`'s digest (hex), or a thrown error with its stderr.
    static func digest(_ arguments: [String]) async throws -> String {
        guard case .installed(let tool) = availability else {
            throw ToolError("sev-snp-measure is not installed: \(availability)")
        }
        let result = try await TestProcess.runOffPool(tool, ["--mode", "snp", "--output-format", "hex"] + arguments, timeout: 120)
        guard result.status == 0 else { throw ToolError("sev-snp-measure \(arguments) exited \(result.status): \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    struct ToolError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
