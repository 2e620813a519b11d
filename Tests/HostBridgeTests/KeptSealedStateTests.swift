import EnclavaTesting
import Foundation
import HostBridge
import Testing

/// The host's copy of an enclave's sealed state: a hostile or broken file never reaches the enclave as something
/// else, and a replacement is all-or-nothing.
@Suite struct KeptSealedStateTests {
    func withFolder(_ body: (URL) throws -> Void) throws {
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-kept")
        defer { try? FileManager.default.removeItem(at: folder) }
        try body(folder)
    }

    @Test func noFileYetIsAnEmptyBlobAndAWriteIsOwnerOnlyAndReadBack() throws {
        try withFolder { folder in
            let kept = KeptSealedState(path: folder.appendingPathComponent("x.sealed").path)
            #expect(try kept.read() == [])
            try kept.write(Array("ENCLSEAL-blob".utf8))
            #expect(try kept.read() == Array("ENCLSEAL-blob".utf8))
            let mode = try FileManager.default.attributesOfItem(atPath: kept.path)[.posixPermissions] as? Int
            #expect(mode == 0o600)
            try kept.write([1, 2])
            #expect(try kept.read() == [1, 2])
            // No temporary file is left beside it.
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["x.sealed"])
        }
    }

    @Test func aSymbolicLinkIsNotFollowed() throws {
        try withFolder { folder in
            let secret = folder.appendingPathComponent("elsewhere")
            try Data("not a sealed state".utf8).write(to: secret)
            let path = folder.appendingPathComponent("x.sealed")
            try FileManager.default.createSymbolicLink(at: path, withDestinationURL: secret)
            let error = #expect(throws: HostBridgeError.self) { try KeptSealedState(path: path.path).read() }
            #expect(error?.code == .invalidConfiguration && error?.message.contains("not a symbolic link") == true, "\(String(describing: error))")
        }
    }

    @Test func anOversizedFileOrBlobIsRefused() throws {
        try withFolder { folder in
            let path = folder.appendingPathComponent("x.sealed")
            try Data(count: KeptSealedState.maxBytes + 1).write(to: path)
            let kept = KeptSealedState(path: path.path)
            let read = #expect(throws: HostBridgeError.self) { try kept.read() }
            #expect(read?.message.contains("more than the \(KeptSealedState.maxBytes) a sealed state can have") == true)
            let write = #expect(throws: HostBridgeError.self) { try kept.write([UInt8](repeating: 0, count: KeptSealedState.maxBytes + 1)) }
            #expect(write?.code == .invalidConfiguration)
            #expect(try Data(contentsOf: path).count == KeptSealedState.maxBytes + 1, "a refused write leaves the old file")
        }
    }

    @Test func aFolderInItsPlaceIsRefused() throws {
        try withFolder { folder in
            let path = folder.appendingPathComponent("x.sealed")
            try FileManager.default.createDirectory(at: path, withIntermediateDirectories: true)
            let error = #expect(throws: HostBridgeError.self) { try KeptSealedState(path: path.path).read() }
            #expect(error?.message.contains("is not a regular file") == true, "\(String(describing: error))")
        }
    }
}
