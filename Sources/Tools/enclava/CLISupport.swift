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
    /// Checks an output file path before any work is done: not empty, not `-` (outputs are files), not a folder,
    /// its folder exists and can be written to. Relative and bare names are relative to the working folder.
    static func requireOutputFolder(_ path: String) throws {
        guard !path.isEmpty else { throw CLIError("the output path is empty; give a file name") }
        guard path != "-" else {
            throw CLIError("this output is written to a file, not to standard output; give a file name instead of -")
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw CLIError("\(path) is a folder; give the path of a file to write (e.g. \(path.hasSuffix("/") ? path : path + "/")out)")
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CLIError("output folder \(folder) does not exist; create it first")
        }
        guard access(folder, W_OK | X_OK) == 0 else {
            throw CLIError("cannot write in \(folder) (\(String(cString: strerror(errno)))); choose a folder you can write to")
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
