/// Finds table headers that TOMLKit's parser cannot be given.
///
/// TOMLKit wraps toml++, whose header parser takes for granted that the first character after `[` (or `[[`,
/// and spaces) is a bare-key character or a quote: for anything else — `[+]`, `[=]`, `[ ,]`, `[\n`, a
/// non-ASCII letter — it fails an assertion (the process aborts) in a debug build and, built with `NDEBUG`,
/// tells the compiler the case cannot happen (undefined behaviour). Found by `make fuzz` (FuzzImage). A
/// manifest is hostile input (and travels inside images), so ``Manifest/parse(_:sourceName:)`` refuses
/// such a header here, before toml++ sees the text.
///
/// The scan follows TOML's lexical structure: comments, the four kinds of strings, and the brackets of
/// array and inline-table values (a `[` inside a value is not a header); a `[` that starts an expression
/// outside any value is a header.
enum TOMLHeaderCheck {
    /// The 1-based line of the first table header whose key does not start with a bare-key character
    /// (`A-Z a-z 0-9 _ -`), a quote or `]`; nil when there is none.
    static func malformedHeaderLine(in text: String) -> Int? {
        let s = Array(text.unicodeScalars)
        var i = 0, line = 1, depth = 0
        var expressionStart = true   // only whitespace, comments and newlines since the last expression
        if s.first == "\u{FEFF}" { i = 1 }
        while i < s.count {
            let c = s[i]
            switch c {
            case "\n":
                line += 1
                if depth == 0 { expressionStart = true }
                i += 1
            case " ", "\t", "\r":
                i += 1
            case "#":
                while i < s.count, s[i] != "\n" { i += 1 }
            case "\"", "'":
                i = endOfString(s, from: i, line: &line)
                expressionStart = false
            case "[" where depth == 0 && expressionStart:
                var j = i + 1
                while j < s.count, s[j] == " " || s[j] == "\t" { j += 1 }
                if j < s.count, s[j] == "[" {
                    j += 1
                    while j < s.count, s[j] == " " || s[j] == "\t" { j += 1 }
                }
                if j < s.count, !startsKey(s[j]) { return line }
                expressionStart = false
                i = j
            case "[", "{":
                depth += 1
                expressionStart = false
                i += 1
            case "]", "}":
                depth = max(0, depth - 1)
                i += 1
            default:
                expressionStart = false
                i += 1
            }
        }
        return nil
    }

    /// Whether toml++ may start parsing a header key at `c` (or report the header empty, for `]`).
    private static func startsKey(_ c: Unicode.Scalar) -> Bool {
        switch c {
        case "A"..."Z", "a"..."z", "0"..."9", "_", "-", "\"", "'", "]": true
        default: false
        }
    }

    /// The index just past the string that starts at `start` (basic or literal, one-line or multi-line),
    /// counting the newlines inside it; the end of the text when it is not closed.
    private static func endOfString(_ s: [Unicode.Scalar], from start: Int, line: inout Int) -> Int {
        let quote = s[start]
        let multiLine = start + 2 < s.count && s[start + 1] == quote && s[start + 2] == quote
        var i = start + (multiLine ? 3 : 1)
        while i < s.count {
            let c = s[i]
            if c == "\n" {
                if !multiLine { return i }   // an unterminated one-line string: toml++ stops there
                line += 1
            }
            if c == "\\", quote == "\"" {
                if i + 1 < s.count, s[i + 1] == "\n" { line += 1 }
                i += 2
                continue
            }
            if c == quote {
                if !multiLine { return i + 1 }
                if i + 2 < s.count, s[i + 1] == quote, s[i + 2] == quote {
                    var end = i + 3
                    // Up to two more quotes belong to the string ("""a""""" ends in two quotes).
                    while end < s.count, s[end] == quote, end - i < 5 { end += 1 }
                    return end
                }
            }
            i += 1
        }
        return i
    }
}
