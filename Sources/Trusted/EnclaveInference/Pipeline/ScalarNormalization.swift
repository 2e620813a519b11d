@_spi(_Unicode) import Swift

/// Per-scalar Unicode data for the byte-level tokenizer: lower case, canonical decomposition (NFD) and
/// canonical combining classes, with an ASCII fast path. None of it keeps a `String` of request text: a
/// mapping is read from a one-scalar `String` (small, held in the value itself, never on the heap) and
/// dropped at once.
///
/// Full NFD of a text is the decomposition of each scalar followed by canonical ordering (a stable sort of
/// every run of non-starters by combining class, starters staying put), which ``insertCanonically(_:into:count:runStart:)``
/// performs one scalar at a time. The decompositions are the standard library's (`_nfd`), the same data
/// Swift's `String` comparison uses.
enum ScalarNormalization {
    /// The canonical combining class of `scalar` (0 for starters; every scalar below U+0300 is one).
    @inline(__always)
    static func combiningClass(_ scalar: UInt32) -> UInt8 {
        guard scalar >= 0x300, let value = Unicode.Scalar(scalar) else { return 0 }
        return value.properties.canonicalCombiningClass.rawValue
    }

    /// Calls `body` with each scalar of the lower-case mapping of `scalar` (one or two scalars).
    @inline(__always)
    static func lowercase(_ scalar: UInt32, _ body: (UInt32) -> Void) {
        if scalar < 0x80 {
            body(scalar >= 0x41 && scalar <= 0x5A ? scalar | 0x20 : scalar)
            return
        }
        guard let value = Unicode.Scalar(scalar) else { return body(scalar) }
        for mapped in value.properties.lowercaseMapping.unicodeScalars { body(mapped.value) }
    }

    /// Calls `body` with each scalar of the full canonical decomposition of `scalar` (one to four scalars,
    /// in canonical order).
    @inline(__always)
    static func decompose(_ scalar: UInt32, _ body: (UInt32) -> Void) {
        // Nothing below U+00C0 decomposes canonically.
        guard scalar >= 0xC0, let value = Unicode.Scalar(scalar) else { return body(scalar) }
        for part in String(value)._nfd { body(part.value) }
    }

    /// Whether `scalar` is its own NFD and a starter, so that any run of such scalars is already in NFD.
    @inline(__always)
    static func isCanonicalStarter(_ scalar: UInt32) -> Bool {
        if scalar < 0xC0 { return true }
        guard combiningClass(scalar) == 0 else { return false }
        var single = true
        var first = true
        decompose(scalar) { part in
            if !first || part != scalar { single = false }
            first = false
        }
        return single
    }

    /// Whether `scalar` is a non-spacing mark (general category Mn), which accent stripping drops.
    @inline(__always)
    static func isNonspacingMark(_ scalar: UInt32) -> Bool {
        guard scalar >= 0x300, let value = Unicode.Scalar(scalar) else { return false }
        return value.properties.generalCategory == .nonspacingMark
    }

    /// Appends `scalar` (of combining class `combiningClass`) at `buffer[count]` and moves it back past the
    /// non-starters after `runStart` with a higher class (a stable insertion sort: canonical ordering).
    /// A starter sets `runStart` past itself. The caller checks that `count` is below the buffer's capacity.
    @inline(__always)
    static func insertCanonically(_ scalar: UInt32, combiningClass: UInt8, into buffer: UnsafeMutablePointer<UInt32>,
                                  count: inout Int, runStart: inout Int) {
        guard combiningClass != 0 else {
            buffer[count] = scalar
            count += 1
            runStart = count
            return
        }
        var index = count
        while index > runStart && Self.combiningClass(buffer[index - 1]) > combiningClass {
            buffer[index] = buffer[index - 1]
            index -= 1
        }
        buffer[index] = scalar
        count += 1
    }
}
