import TOMLKit

/// Reads typed, range-checked values out of a parsed TOML table, turning every schema problem
/// into a ``ManifestError`` that names the line it is on.
struct ManifestReader {
    let sourceName: String
    let lines: ManifestLineIndex

    func error(_ code: ManifestError.Code, section: String, key: String? = nil, _ message: String,
               file: String = #fileID, sourceLine: Int = #line) -> ManifestError {
        let line = key.map { lines.line(section: section, key: $0) } ?? lines.line(section: section)
        return ManifestError(code, sourceName: sourceName, line: line, message: message,
                             file: file, sourceLine: sourceLine)
    }

    /// Rejects keys of `table` that are not in `allowed`, reporting the first one in the text.
    func checkKeys(_ table: TOMLTable, section: String, allowed: Set<String>, what: String) throws {
        let unknown = table.keys.filter { !allowed.contains($0) }
        guard !unknown.isEmpty else { return }
        let first = unknown.min { a, b in
            (lines.line(section: section, key: a) ?? .max, a) < (lines.line(section: section, key: b) ?? .max, b)
        }!
        let choices = allowed.sorted().map { "`\($0)`" }.joined(separator: ", ")
        throw error(.unknownKey, section: section, key: first,
                    "unknown \(what) `\(first)`\(section.isEmpty ? "" : " in [\(section)]"); expected one of \(choices)")
    }

    /// The sub-table `name` of `root`; `nil` when absent and not required.
    func section(_ root: TOMLTable, _ name: String, required: Bool) throws -> TOMLTable? {
        guard let value = root[name] else {
            if required {
                throw ManifestError(.missingKey, sourceName: sourceName, line: nil,
                                    message: "missing section [\(name)]; add it (see Manifests/ for an example)")
            }
            return nil
        }
        guard let table = value.table else {
            throw error(.wrongType, section: "", key: name, "`\(name)` must be a table ([\(name)]), got \(Self.describe(value.type))")
        }
        return table
    }

    func string(_ table: TOMLTable, section: String, _ key: String, required: Bool) throws -> String? {
        guard let value = table[key] else {
            if required { throw missing(section: section, key: key, example: "\"…\"") }
            return nil
        }
        guard let string = value.string else { throw wrongType(value, section: section, key: key, expected: "a string") }
        return string
    }

    func int(_ table: TOMLTable, section: String, _ key: String, range: ClosedRange<Int>) throws -> Int? {
        guard let value = table[key] else { return nil }
        guard value.type == .int, let number = value.int else {
            throw wrongType(value, section: section, key: key, expected: "an integer")
        }
        guard range.contains(number) else {
            throw error(.outOfRange, section: section, key: key,
                        "`\(key)` must be \(range.lowerBound)…\(range.upperBound), got \(number)")
        }
        return number
    }

    func bool(_ table: TOMLTable, section: String, _ key: String) throws -> Bool? {
        guard let value = table[key] else { return nil }
        guard value.type == .bool, let flag = value.bool else {
            throw wrongType(value, section: section, key: key, expected: "true or false")
        }
        return flag
    }

    func choice<Choice: RawRepresentable & CaseIterable>(
        _ table: TOMLTable, section: String, _ key: String, required: Bool, as: Choice.Type
    ) throws -> Choice? where Choice.RawValue == String {
        guard let raw = try string(table, section: section, key, required: required) else { return nil }
        guard let choice = Choice(rawValue: raw) else {
            let choices = Choice.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: " or ")
            throw error(.invalidValue, section: section, key: key, "`\(key)` must be \(choices), got \"\(raw)\"")
        }
        return choice
    }

    /// A relative path that stays inside the manifest's folder, normalized (no `.`/`..`/empty parts).
    func relativePath(_ table: TOMLTable, section: String, _ key: String, required: Bool) throws -> String? {
        guard let raw = try string(table, section: section, key, required: required) else { return nil }
        func reject(_ why: String) -> ManifestError {
            error(.invalidPath, section: section, key: key, "`\(key)` = \"\(raw)\" \(why)")
        }
        if raw.isEmpty { throw reject("is empty; name a file next to the manifest") }
        if raw.utf8.count > 1024 { throw reject("is longer than 1024 bytes") }
        if raw.hasPrefix("/") || raw.hasPrefix("~") {
            throw reject("is absolute; give a path relative to the manifest's folder")
        }
        if raw.contains("\\") || raw.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw reject("contains a backslash or a control character")
        }
        var parts: [Substring] = []
        for part in raw.split(separator: "/", omittingEmptySubsequences: true) where part != "." {
            if part == ".." {
                if parts.isEmpty { throw reject("leaves the manifest's folder; keep assets inside it") }
                parts.removeLast()
            } else {
                parts.append(part)
            }
        }
        if parts.isEmpty { throw reject("does not name a file") }
        return parts.joined(separator: "/")
    }

    func missing(section: String, key: String, example: String) -> ManifestError {
        error(.missingKey, section: section, "[\(section)] is missing `\(key)`; add `\(key) = \(example)`")
    }

    func wrongType(_ value: any TOMLValueConvertible, section: String, key: String, expected: String) -> ManifestError {
        error(.wrongType, section: section, key: key, "`\(key)` must be \(expected), got \(Self.describe(value.type))")
    }

    static func describe(_ type: TOMLType) -> String {
        switch type {
        case .table: return "a table"
        case .array: return "an array"
        case .string: return "a string"
        case .int: return "an integer"
        case .double: return "a floating-point number"
        case .bool: return "a boolean"
        case .date: return "a date"
        case .time: return "a time"
        case .dateTime: return "a date-time"
        }
    }
}
