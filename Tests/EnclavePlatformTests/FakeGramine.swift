import EnclavaCrypto
import Foundation
import Synchronization
@testable import EnclavePlatform

/// Stands in for Gramine's `/dev/attestation` behind a real temporary directory: `attestation_type`,
/// `keys/_sgx_mrenclave`, `keys/_sgx_mrsigner` are real files; writing `user_report_data` (exactly 64
/// bytes, else EINVAL) makes the next read of `quote` return ``quote`` over it.
final class FakeGramine: PlatformFileSystem {
    struct State {
        var quote: @Sendable ([UInt8]) -> [UInt8] = { $0 }
        var quoteErrno: Int32? = nil
        var reportData: [UInt8]? = nil
        var quotes = 0
    }

    let root: String
    let state = Mutex(State())
    private let posix = POSIXFileSystem()

    init(type: String = "dcap", mrenclaveKey: [UInt8]? = SecureRandom.bytes(count: 16),
         mrsignerKey: [UInt8]? = SecureRandom.bytes(count: 16)) throws {
        root = try PlatformTestData.temporaryDirectory("fake-gramine") + "/attestation"
        try FileManager.default.createDirectory(atPath: root + "/keys", withIntermediateDirectories: true)
        try Data((type + "\n").utf8).write(to: URL(fileURLWithPath: root + "/attestation_type"))
        for (name, key) in [("_sgx_mrenclave", mrenclaveKey), ("_sgx_mrsigner", mrsignerKey)] {
            if let key { try Data(key).write(to: URL(fileURLWithPath: root + "/keys/" + name)) }
        }
        _ = FileManager.default.createFile(atPath: root + "/user_report_data", contents: Data())
        _ = FileManager.default.createFile(atPath: root + "/quote", contents: Data())
    }

    deinit {
        try? FileManager.default.removeItem(atPath: (root as NSString).deletingLastPathComponent)
    }

    func configure(_ body: (inout State) -> Void) { state.withLock { body(&$0) } }
    var attestation: GramineAttestation { GramineAttestation(root: root, files: self) }

    func makeDirectory(atPath path: String) throws(SystemCallError) { throw SystemCallError(call: "mkdir", path: path, code: EPERM) }
    func removeDirectory(atPath path: String) throws(SystemCallError) { throw SystemCallError(call: "rmdir", path: path, code: EPERM) }
    func exists(atPath path: String) -> Bool { posix.exists(atPath: path) }
    func readSecret(atPath path: String, maxBytes: Int) throws(SystemCallError) -> SecureBytes {
        try posix.readSecret(atPath: path, maxBytes: maxBytes)
    }

    func read(atPath path: String, maxBytes: Int) throws(SystemCallError) -> [UInt8] {
        guard path == root + "/quote" else { return try posix.read(atPath: path, maxBytes: maxBytes) }
        let result: Result<[UInt8], SystemCallError.Kind> = state.withLock { state in
            state.quotes += 1
            if let code = state.quoteErrno { return .failure(.init(code: code)) }
            guard let data = state.reportData else { return .failure(.init(code: EINVAL)) }
            return .success(state.quote(data))
        }
        switch result {
        case .success(let quote): return Array(quote.prefix(maxBytes + 1))
        case .failure(let kind): throw SystemCallError(call: "read", path: path, code: kind.code)
        }
    }

    func write(_ bytes: [UInt8], atPath path: String) throws(SystemCallError) {
        guard path == root + "/user_report_data" else { throw SystemCallError(call: "open", path: path, code: EACCES) }
        guard bytes.count == 64 else { throw SystemCallError(call: "write", path: path, code: EINVAL) }
        state.withLock { $0.reportData = bytes }
        try posix.write(bytes, atPath: path)
    }
}
