import Foundation
import Testing
@testable import EnclavaCrypto

/// Paths and helpers shared by the EnclavaCrypto tests.
enum TestPaths {
    /// Tests/EnclavaCryptoTests
    static let testsFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    /// The package root (two levels above this folder).
    static let packageRoot = testsFolder.deletingLastPathComponent().deletingLastPathComponent()
    /// ../shared next to the package root.
    static let shared = packageRoot.deletingLastPathComponent().appendingPathComponent("shared")
    /// The SEV-SNP evidence folder.
    static let sevSNP = shared.appendingPathComponent("testdata/attestation/sev-snp")

    static func vector(_ name: String) -> URL {
        testsFolder.appendingPathComponent("Vectors").appendingPathComponent(name)
    }
}

/// Decodes lowercase or uppercase hex; traps on malformed test data.
func hex(_ text: String) -> [UInt8] {
    let characters = Array(text.utf8)
    precondition(characters.count % 2 == 0, "odd hex length in test data")
    func nibble(_ c: UInt8) -> UInt8 {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: preconditionFailure("bad hex digit in test data")
        }
    }
    return stride(from: 0, to: characters.count, by: 2).map { nibble(characters[$0]) << 4 | nibble(characters[$0 + 1]) }
}

/// Lowercase hex of `bytes`.
func hexString(_ bytes: [UInt8]) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
}

func readBytes(_ url: URL) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: url))
}

func readText(_ url: URL) throws -> String {
    try String(contentsOf: url, encoding: .utf8)
}

/// Runs `body` and returns the CryptoError code it threw (nil when it did not throw a CryptoError).
func cryptoErrorCode(_ body: () throws -> Void) -> CryptoError.Code? {
    do {
        try body()
        return nil
    } catch let error as CryptoError {
        return error.code
    } catch {
        return nil
    }
}

/// A date from an ISO 8601 string such as "2022-09-24T01:00:00Z".
func isoDate(_ text: String) -> Date {
    let formatter = ISO8601DateFormatter()
    guard let date = formatter.date(from: text) else { preconditionFailure("bad date in test: \(text)") }
    return date
}
