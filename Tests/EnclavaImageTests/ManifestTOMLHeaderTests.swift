import Testing
@testable import EnclavaImage

/// Table headers that toml++ (inside TOMLKit) asserts on — the process aborted; built with `NDEBUG`, undefined
/// behaviour — found by `make fuzz` (FuzzImage). They are refused as syntax errors now.
@Suite struct ManifestTOMLHeaderTests {
    /// The fuzzer's input: the fraud-detector manifest with one byte of `[runtime]` turned into 0xFF.
    @Test func theFuzzersManifestIsASyntaxErrorOnItsLine() throws {
        let bytes: [UInt8] = Array("[image]\nname = \"fraud-detector\"\nversion = \"1.0.0\"\n\n[eodel]\nfile = \"model.onnx\"\n".utf8)
            + Array("format = \"onnx\"\n\n[pipeline]\nkind = \"tensor\"\n\n[".utf8) + [0xFF]
            + Array("~runtime]\nthreads\u{18} = 2\n".utf8)
        let text = String(decoding: bytes, as: UTF8.self)
        let error = try #require(throws: ManifestError.self) { try Manifest.parse(text, sourceName: "manifest.toml") }
        #expect(error.code == .syntax)
        #expect(error.line == 12)
        #expect(error.message.contains("a table header must start with a key"))
    }

    static let badHeaders = ["[+]", "[=]", "[ ,]", "[[{]]", "[ [ x ] ]", "[é]", "[\u{FFFD}]", "[\t#]", "[", "[["]

    @Test(arguments: badHeaders)
    func eachBadHeaderIsRefusedWithItsLine(_ header: String) throws {
        // Line 15 of the full manifest is the blank line before [runtime].
        let text = replacingLine(15, with: header + (header.hasSuffix("[") ? "\nx = 1" : ""))
        let error = try #require(throws: ManifestError.self) { try Manifest.parse(text, sourceName: "manifest.toml") }
        #expect(error.code == .syntax)
        #expect(error.line == 15, "\(error)")
    }

    @Test func bracketsInsideValuesStringsAndCommentsAreNotHeaders() {
        let fine = [
            "a = [\n[+1]]\n[ok]",
            "a = [ # [=]\n  {b = 1},\n]\n[ok]",
            "s = \"\"\"\n[+]\n\"\"\"\n[ok]",
            "s = '''\n[=]'''\n[ok]",
            "s = \"\"\"a\\\n[+]\"\"\"",
            "# [+]\n\"k\" = \"[+]\"\nx = { a = [1] }\n['quoted']\n[\"q\".b]\n[[arr]]\n[ spaced ]",
            "\u{FEFF}[image]",
        ]
        for text in fine {
            #expect(TOMLHeaderCheck.malformedHeaderLine(in: text) == nil, "\(text)")
        }
    }

    @Test func linesAreCountedThroughStrings() {
        #expect(TOMLHeaderCheck.malformedHeaderLine(in: "s = \"\"\"\n\n\"\"\"\n[+]") == 4)
        #expect(TOMLHeaderCheck.malformedHeaderLine(in: "s = \"open\n[+]") == 2)
        #expect(TOMLHeaderCheck.malformedHeaderLine(in: "\u{FEFF}[+]") == 1)
    }
}
