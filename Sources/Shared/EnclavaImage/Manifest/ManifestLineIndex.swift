/// Finds the line of a section header or a key in manifest text, for error messages.
///
/// TOMLKit reports lines for syntax errors only; for schema errors (a value out of range, an
/// unknown key) we scan the text ourselves. This is a best-effort locator over well-formed
/// TOML (the text has already parsed): `[section]` headers, `key = value` lines inside a section,
/// and `section.key = value` dotted keys at the top level.
struct ManifestLineIndex: Sendable {
    private var sections: [String: Int] = [:]
    private var keys: [String: Int] = [:]

    init(text: String) {
        var current = ""
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = Self.stripComment(String(rawLine)).trimmingSpaces()
            if line.isEmpty { continue }
            if line.hasPrefix("[") {
                let inner = line.drop { $0 == "[" }.prefix { $0 != "]" }
                current = Self.unquote(String(inner).trimmingSpaces())
                if sections[current] == nil { sections[current] = lineNumber }
                continue
            }
            guard let equals = line.firstIndex(of: "=") else { continue }
            let keyPath = line[..<equals].split(separator: ".").map { Self.unquote(String($0).trimmingSpaces()) }
            guard let last = keyPath.last else { continue }
            let section = ([current] + keyPath.dropLast()).filter { !$0.isEmpty }.joined(separator: ".")
            let composite = section + "\u{0}" + last
            if keys[composite] == nil { keys[composite] = lineNumber }
            if keyPath.count > 1, sections[section] == nil { sections[section] = lineNumber }
        }
    }

    /// The line of `[section]`, if present.
    func line(section: String) -> Int? { sections[section] }

    /// The line of `key` inside `section` (falls back to the section's line). At the top level
    /// (`section` empty) a key may also be a `[key]` table header.
    func line(section: String, key: String) -> Int? {
        if section.isEmpty { return keys["\u{0}" + key] ?? sections[key] }
        return keys[section + "\u{0}" + key] ?? sections[section]
    }

    private static func stripComment(_ line: String) -> String {
        var inString: Character?
        var result = ""
        for character in line {
            if let quote = inString {
                if character == quote { inString = nil }
            } else if character == "\"" || character == "'" {
                inString = character
            } else if character == "#" {
                break
            }
            result.append(character)
        }
        return result
    }

    private static func unquote(_ text: String) -> String {
        if text.count >= 2, let first = text.first, first == "\"" || first == "'", text.last == first {
            return String(text.dropFirst().dropLast())
        }
        return text
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs.
    func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        guard let start = firstIndex(where: { !isSpace($0) }) else { return "" }
        let end = lastIndex(where: { !isSpace($0) })!
        return String(self[start...end])
    }
}
