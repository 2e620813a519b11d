import EnclavaAttestation
import EnclavaCrypto
import Foundation

/// A CLI failure: printed as one line naming the problem and what to do; the process exits non-zero.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { self.description = message }
}

enum CLI {
    /// The `enclava-runtime` executable: `--runtime` when given, else the one beside this `enclava`.
    static func runtimePath(_ explicit: String?) throws -> String {
        let path: String
        if let explicit {
            path = explicit
        } else {
            let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                ?? CommandLine.arguments[0]
            path = URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent("enclava-runtime").path
        }
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw CLIError("runtime executable not found at \(path); build it (`make build`) or pass --runtime PATH")
        }
        return path
    }

    /// SHA-384 of the runtime executable: the measurement a simulated enclave reports.
    static func runtimeMeasurement(_ path: String) throws -> [UInt8] {
        do { return try SHA2.hashFile(.sha384, path: path) } catch {
            throw CLIError("cannot read runtime executable \(path): \(error)")
        }
    }

    /// The simulated platform home: `--sim-home`, else $ENCLAVA_HOME, else ~/.enclava.
    static func simHome(_ explicit: String?) -> String {
        explicit ?? SimulatedPlatform.defaultHome()
    }

    /// Checks that an input file exists and is readable, with a one-line error naming it.
    static func requireReadableFile(_ path: String, what: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CLIError("\(what) \(path) does not exist")
        }
        guard !isDirectory.boolValue else { throw CLIError("\(what) \(path) is a folder, not a file") }
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw CLIError("\(what) \(path) is not readable (check its permissions)")
        }
    }

    /// Checks that the folder an output file goes to exists.
    static func requireOutputFolder(_ path: String) throws {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CLIError("output folder \(folder) does not exist; create it first")
        }
    }

    /// Writes text to stderr.
    static func note(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Pretty, stable JSON text of an encodable value.
    static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
