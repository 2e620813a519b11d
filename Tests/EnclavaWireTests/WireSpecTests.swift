import EnclavaWire
import Foundation
import NIOCore
import Testing

/// Checks the numbers written in DESIGN.md §2 against the code, so that spec and code cannot drift apart.
@Suite struct WireSpecTests {
    /// DESIGN.md: the repository's copy if it has one, else the shared one next to the checkout.
    static func designText() throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let candidates = ["DESIGN.md", "docs/DESIGN.md", "../shared/DESIGN.md"].map { root.appendingPathComponent($0).path }
        for path in candidates where FileManager.default.fileExists(atPath: path) {
            return try String(contentsOfFile: path, encoding: .utf8)
        }
        Issue.record("DESIGN.md not found; looked in \(candidates)")
        throw CocoaError(.fileNoSuchFile)
    }

    /// The text of §2, from its heading to the next `## ` heading.
    static func section2() throws -> String {
        let text = try designText()
        guard let start = text.range(of: "\n## 2.") else {
            Issue.record("DESIGN.md has no section `## 2.`")
            throw CocoaError(.fileReadCorruptFile)
        }
        let rest = text[start.upperBound...]
        let end = rest.range(of: "\n## ")?.lowerBound ?? rest.endIndex
        return String(rest[..<end])
    }

    /// The header layout lines: `bytes 0..3  …` / `byte  8  …` → (first, last, description).
    static func headerFields() throws -> [(first: Int, last: Int, text: String)] {
        let regex = try NSRegularExpression(pattern: #"^bytes?\s+(\d+)(?:\.\.(\d+))?\s+(.*)$"#, options: [.anchorsMatchLines])
        let text = try section2()
        let ns = text as NSString
        return regex.matches(in: text, range: NSRange(location: 0, length: ns.length)).map { match in
            let first = Int(ns.substring(with: match.range(at: 1)))!
            let last = match.range(at: 2).location == NSNotFound ? first : Int(ns.substring(with: match.range(at: 2)))!
            return (first, last, ns.substring(with: match.range(at: 3)))
        }
    }

    static func codes(in line: String) throws -> [UInt8: String] {
        let regex = try NSRegularExpression(pattern: #"0x([0-9a-fA-F]{2}) ([a-z ]+?)(?:,|$)"#)
        let ns = line as NSString
        var result: [UInt8: String] = [:]
        for match in regex.matches(in: line, range: NSRange(location: 0, length: ns.length)) {
            result[UInt8(ns.substring(with: match.range(at: 1)), radix: 16)!] = ns.substring(with: match.range(at: 2))
        }
        return result
    }

    @Test func headerSizeMatchesTheSpec() throws {
        let fields = try Self.headerFields()
        #expect(fields.count == 4, "expected 4 header fields in DESIGN.md §2, found \(fields.count)")
        #expect((fields.map(\.last).max() ?? 0) + 1 == WireLimits.headerByteCount)
        // The fields tile the header without gaps.
        var next = 0
        for field in fields.sorted(by: { $0.first < $1.first }) {
            #expect(field.first == next)
            next = field.last + 1
        }
    }

    @Test func lengthAndStreamIDAreBigEndianU32AtTheSpecifiedOffsets() throws {
        let fields = try Self.headerFields()
        let length = try #require(fields.first { $0.text.hasPrefix("payload length") })
        let stream = try #require(fields.first { $0.text.hasPrefix("stream id") })
        let type = try #require(fields.first { $0.text.hasPrefix("type") })
        let flags = try #require(fields.first { $0.text.hasPrefix("flags") })
        #expect(length.text.contains("u32 big-endian") && stream.text.contains("u32 big-endian"))
        #expect(length.last - length.first + 1 == 4 && stream.last - stream.first + 1 == 4)
        #expect(stream.text.contains("client streams are odd") && WireLimits.firstClientStreamID % 2 == 1)

        let payload = ByteBuffer(bytes: Array(repeating: 0xEE, count: 0x0102))
        let frame = Frame(streamID: 0x0A0B_0C0D, type: .data, flags: [.noData, .remoteClosed], payload: payload)
        let bytes = Array(try frame.encoded().readableBytesView)
        #expect(bytes.count == WireLimits.headerByteCount + 0x0102)
        #expect(Array(bytes[length.first...length.last]) == [0x00, 0x00, 0x01, 0x02])
        #expect(Array(bytes[stream.first...stream.last]) == [0x0A, 0x0B, 0x0C, 0x0D])
        #expect(bytes[type.first] == FrameType.data.rawValue)
        #expect(bytes[flags.first] == 0x05)
    }

    @Test func defaultLimitMatchesTheSpec() throws {
        let regex = try NSRegularExpression(pattern: #"maximum (\d+) MiB by default"#)
        let text = try Self.section2()
        let match = try #require(regex.firstMatch(in: text, range: NSRange(location: 0, length: (text as NSString).length)))
        let mebibytes = try #require(Int((text as NSString).substring(with: match.range(at: 1))))
        #expect(mebibytes << 20 == WireLimits.defaultMaxFrameBytes)
        #expect(text.contains("RESOURCE_EXHAUSTED") && RPCCode.resourceExhausted.name == "RESOURCE_EXHAUSTED")
    }

    @Test func typeCodesMatchTheSpec() throws {
        let line = try #require(try Self.headerFields().first { $0.text.hasPrefix("type") }).text
        let codes = try Self.codes(in: line)
        #expect(codes.count == FrameType.allCases.count)
        for (raw, name) in codes {
            #expect(FrameType(rawValue: raw)?.description == name, "type 0x\(raw) is `\(name)` in the spec")
        }
    }

    @Test func flagBitsMatchTheSpec() throws {
        let line = try #require(try Self.headerFields().first { $0.text.hasPrefix("flags") }).text
        let codes = try Self.codes(in: line)
        let byName: [String: FrameFlags] = ["remote closed": .remoteClosed, "remote open": .remoteOpen, "no data": .noData]
        #expect(codes.count == byName.count)
        for (raw, name) in codes {
            #expect(byName[name]?.rawValue == raw, "flag 0x\(raw) is `\(name)` in the spec")
        }
        #expect(FrameFlags.all.rawValue == codes.keys.reduce(0, |))
    }

    @Test func serviceAndMethodsMatchTheSpec() throws {
        let text = try Self.section2()
        #expect(text.contains("Service `\(EnclaveService.name)`"))
        let regex = try NSRegularExpression(pattern: #"^\| `([A-Za-z]+)` \|"#, options: [.anchorsMatchLines])
        let ns = text as NSString
        let methods = Set(regex.matches(in: text, range: NSRange(location: 0, length: ns.length))
            .map { ns.substring(with: $0.range(at: 1)) })
        #expect(methods == Set(EnclaveService.Method.allCases.map(\.rawValue)))
    }
}
