import EnclavaWire
import Foundation

/// Searching recorded traffic for plaintext that must not be there.
public enum ByteSearch {
    /// Whether `needle` occurs in `haystack`.
    public static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        let first = needle[0]
        var i = 0
        let last = haystack.count - needle.count
        while i <= last {
            if haystack[i] == first && haystack[i..<(i + needle.count)].elementsEqual(needle) { return true }
            i += 1
        }
        return false
    }

    /// Every run of `width` consecutive float32 values, as little-endian bytes (as they would sit in a tensor).
    public static func floatWindows(_ values: [Float], width: Int) -> [[UInt8]] {
        guard values.count >= width else { return [] }
        return (0...(values.count - width)).map { start in
            values[start..<(start + width)].flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
        }
    }

    /// The google.rpc.Status code inside one ttrpc response frame (header + Ttrpc_Response), or nil.
    public static func statusCode(inResponseFrame frame: [UInt8]) -> Int32? {
        guard frame.count >= 10, frame[8] == 2 else { return nil }
        let length = Int(frame[0]) << 24 | Int(frame[1]) << 16 | Int(frame[2]) << 8 | Int(frame[3])
        guard frame.count >= 10 + length,
              let response = try? Ttrpc_Response(serializedBytes: Array(frame[10..<(10 + length)])) else { return nil }
        return response.status.code
    }
}
