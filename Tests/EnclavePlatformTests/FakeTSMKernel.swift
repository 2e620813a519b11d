import EnclavaCrypto
import Foundation
import Synchronization
@testable import EnclavePlatform

/// Stands in for the kernel's configfs-tsm behind a real temporary directory, following
/// `Documentation/ABI/testing/configfs-tsm-report` and `drivers/virt/coco/tsm.c`: `mkdir` creates an
/// entry with its attributes; every write to `inblob` or `privlevel` increments `generation`; `inblob`
/// takes at most 64 bytes (EFBIG beyond, the configfs limit); `privlevel` must be within floor…3
/// (EINVAL); reading `provider` or `outblob` without a provider fails with ENXIO; the `sev_guest`
/// provider wants exactly 64 bytes of inblob (EINVAL); `outblob` is produced from the inblob by
/// ``produce`` (real sample reports with the report data put in). It can also play another writer
/// (``interferingWrites``: extra generation increments while outblob is read) and a busy kernel.
final class FakeTSMKernel: PlatformFileSystem {
    struct State {
        var provider: String? = "sev_guest"
        var privlevelFloor = 0
        /// Makes the outblob from (inblob, privlevel); an errno fails the read.
        var produce: @Sendable ([UInt8], Int) -> Result<[UInt8], SystemCallError.Kind> = { inblob, _ in .success(inblob) }
        var auxblob: [UInt8]? = nil
        /// Extra generation increments (another writer) on the next outblob reads, one per read.
        var interferingWrites = 0
        /// Fail writes with EBUSY (the kernel's write-without-read limit).
        var busy = false
        /// Fail outblob reads with this errno.
        var outblobErrno: Int32? = nil
        /// What happened, for the tests.
        var created: [String] = []
        var removed: [String] = []
        var generations: [String: UInt64] = [:]
        var inblobs: [String: [UInt8]] = [:]
        var privlevels: [String: Int] = [:]
        var outblobReads = 0
    }

    let root: String
    let state = Mutex(State())
    private let posix = POSIXFileSystem()

    init(provider: String? = "sev_guest") throws {
        root = try PlatformTestData.temporaryDirectory("fake-tsm") + "/report"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        state.withLock { $0.provider = provider }
    }

    deinit {
        try? FileManager.default.removeItem(atPath: (root as NSString).deletingLastPathComponent)
    }

    func configure(_ body: (inout State) -> Void) { state.withLock { body(&$0) } }
    var snapshot: State { state.withLock { $0 } }
    var tsm: ConfigFSTSM { ConfigFSTSM(root: root, files: self) }

    // MARK: PlatformFileSystem

    func makeDirectory(atPath path: String) throws(SystemCallError) {
        try posix.makeDirectory(atPath: path)
        let attributes = ["inblob", "outblob", "provider", "generation", "privlevel", "privlevel_floor"]
            + (state.withLock { $0.provider } == "sev_guest" ? ["auxblob"] : [])
        for attribute in attributes {
            _ = FileManager.default.createFile(atPath: path + "/" + attribute, contents: Data())
        }
        try? posix.write(Array("0\n".utf8), atPath: path + "/generation")
        state.withLock {
            $0.created.append(path)
            $0.generations[path] = 0
            try? posix.write(Array("\($0.privlevelFloor)\n".utf8), atPath: path + "/privlevel_floor")
        }
    }

    func removeDirectory(atPath path: String) throws(SystemCallError) {
        // configfs removes an entry with its attributes.
        guard FileManager.default.fileExists(atPath: path) else { throw SystemCallError(call: "rmdir", path: path, code: ENOENT) }
        try? FileManager.default.removeItem(atPath: path)
        state.withLock { $0.removed.append(path) }
    }

    func read(atPath path: String, maxBytes: Int) throws(SystemCallError) -> [UInt8] {
        let (entry, attribute) = split(path)
        switch attribute {
        case "provider":
            guard let provider = state.withLock({ $0.provider }) else { throw SystemCallError(call: "read", path: path, code: ENXIO) }
            return Array("\(provider)\n".utf8)
        case "generation":
            let generation = state.withLock { $0.generations[entry] ?? 0 }
            return Array("\(generation)\n".utf8)
        case "outblob":
            let result: Result<[UInt8], SystemCallError.Kind> = state.withLock { state in
                state.outblobReads += 1
                if let code = state.outblobErrno { return .failure(.init(code: code)) }
                guard let provider = state.provider else { return .failure(.init(code: ENXIO)) }
                let inblob = state.inblobs[entry] ?? []
                if provider == "sev_guest" && inblob.count != 64 { return .failure(.init(code: EINVAL)) }
                if state.interferingWrites > 0 {
                    state.interferingWrites -= 1
                    state.generations[entry, default: 0] += 1
                }
                return state.produce(inblob, state.privlevels[entry] ?? 0)
            }
            switch result {
            case .success(let bytes):
                try posix.write(bytes, atPath: path)
                return Array(bytes.prefix(maxBytes + 1))
            case .failure(let kind):
                throw SystemCallError(call: "read", path: path, code: kind.code)
            }
        case "auxblob":
            let aux = state.withLock { $0.auxblob } ?? []
            return Array(aux.prefix(maxBytes + 1))
        default:
            return try posix.read(atPath: path, maxBytes: maxBytes)
        }
    }

    func readSecret(atPath path: String, maxBytes: Int) throws(SystemCallError) -> SecureBytes {
        SecureBytes(try read(atPath: path, maxBytes: maxBytes))
    }

    func write(_ bytes: [UInt8], atPath path: String) throws(SystemCallError) {
        let (entry, attribute) = split(path)
        let failure: Int32? = state.withLock { state in
            if state.busy { return EBUSY }
            switch attribute {
            case "inblob":
                if bytes.count > ConfigFSTSM.inblobByteCount { return EFBIG }
                state.inblobs[entry] = bytes
            case "privlevel":
                guard let level = Int(ConfigFSTSM.trimmedText(bytes)), level <= 3, level >= state.privlevelFloor else { return EINVAL }
                state.privlevels[entry] = level
            default:
                return EACCES
            }
            state.generations[entry, default: 0] += 1
            return nil
        }
        if let failure { throw SystemCallError(call: "close", path: path, code: failure) }
        try posix.write(bytes, atPath: path)
    }

    func exists(atPath path: String) -> Bool {
        let (_, attribute) = split(path)
        if attribute == "auxblob" && state.withLock({ $0.provider }) != "sev_guest" { return false }
        return posix.exists(atPath: path)
    }

    private func split(_ path: String) -> (entry: String, attribute: String) {
        let url = URL(fileURLWithPath: path)
        return (url.deletingLastPathComponent().path, url.lastPathComponent)
    }
}

extension SystemCallError {
    /// An errno to fail with, for the fakes.
    struct Kind: Error, Sendable {
        let code: Int32
    }
}
