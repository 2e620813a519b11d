import EnclavaCrypto
import EnclavaImage
import EnclavaTesting
import Foundation
import Testing
@testable import EnclaveSealing

/// The runtime's side of `--sealed-state PATH`: read at start, replaced atomically (0600) after a release.
@Suite struct SealedRestartFileTests {
    static let digest = SealedStateTests.digest
    static let dek = SealedStateTests.dek

    static func open(_ path: String?, _ source: FakeKeySource = FakeKeySource()) -> SealedRestart.Opening {
        SealedRestart.openState(atPath: path, manifestDigest: digest, sealTo: .measurement, platform: source)
    }

    static func code(_ opening: SealedRestart.Opening) -> SealedStateError.Code? { opening.reason?.code }

    @Test func noPathOrNoFileIsAFirstStart() throws {
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "sealed-state")
        defer { try? FileManager.default.removeItem(at: folder) }
        guard case .absent = Self.open(nil) else { Issue.record("nil path must be absent"); return }
        guard case .absent = Self.open(folder.path + "/missing.sealed") else { Issue.record("missing file must be absent"); return }
        #expect(Self.open(nil).logLine.contains("this start is a key release"))
    }

    @Test func aSavedStateIsPrivateAndOpensAtTheNextStart() throws {
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "sealed-state")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.path + "/" + SealedStateFile.fileName(manifestDigest: Self.digest)
        try SealedRestart.saveState(dek: Self.dek, atPath: path, manifestDigest: Self.digest, sealTo: .measurement,
                                    platform: FakeKeySource())
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let opening = Self.open(path)
        #expect(opening.dek == Self.dek && opening.reason == nil)
        #expect(opening.logLine.contains("without a key release"))
        // Only the state file is left: the temporary sibling was renamed over it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == [SealedStateFile.fileName(manifestDigest: Self.digest)])
    }

    /// A blob that does not open is reported with its reason; the release that follows replaces it, and the start
    /// after that opens the new one.
    @Test func aRefusedBlobIsReplacedByTheNextRelease() throws {
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "sealed-state")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.path + "/state.sealed"
        let otherMachine = FakeKeySource(secret: Array(repeating: 0x77, count: 32))
        try SealedRestart.saveState(dek: Self.dek, atPath: path, manifestDigest: Self.digest, sealTo: .measurement,
                                    platform: otherMachine)
        let refused = Self.open(path)
        #expect(Self.code(refused) == .unsealFailed && refused.dek == nil)
        #expect(refused.logLine.contains("falling back to a key release"))

        try SealedRestart.saveState(dek: Self.dek, atPath: path, manifestDigest: Self.digest, sealTo: .measurement,
                                    platform: FakeKeySource())
        #expect(Self.open(path).dek == Self.dek)
    }

    @Test func hostileFilesAreRefusedUnreadOrUnparsed() throws {
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "sealed-state")
        defer { try? FileManager.default.removeItem(at: folder) }
        let real = folder.path + "/real.sealed"
        try SealedRestart.saveState(dek: Self.dek, atPath: real, manifestDigest: Self.digest, sealTo: .measurement,
                                    platform: FakeKeySource())
        // A symbolic link (the host pointing the enclave at another file) is not followed.
        let link = folder.path + "/link.sealed"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: real)
        let linked = Self.open(link)
        #expect(Self.code(linked) == .unreadable && linked.reason?.message.contains("symbolic link") == true)
        // A folder, and a huge file (refused from its size, before reading).
        #expect(Self.code(Self.open(folder.path)) == .unreadable)
        let huge = folder.path + "/huge.sealed"
        #expect(FileManager.default.createFile(atPath: huge, contents: nil))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: huge))
        try handle.truncate(atOffset: 1 << 30)
        try handle.close()
        #expect(Self.code(Self.open(huge)) == .unreadable)
        // A file within the read bound but over the format's bound, and one cut short.
        let big = folder.path + "/big.sealed"
        try Data(repeating: 0x45, count: 600).write(to: URL(fileURLWithPath: big))
        #expect(Self.code(Self.open(big)) == .tooLarge)
        let cut = folder.path + "/cut.sealed"
        try Data(try #require(try SealedStateFile.read(path: real)).prefix(100)).write(to: URL(fileURLWithPath: cut))
        #expect(Self.code(Self.open(cut)) == .truncated)
    }

    @Test func aStateThatCannotBeWrittenIsNamed() throws {
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "sealed-state")
        defer { try? FileManager.default.removeItem(at: folder) }
        let error = #expect(throws: SealedStateError.self) {
            try SealedRestart.saveState(dek: Self.dek, atPath: folder.path + "/no/such/folder.sealed", manifestDigest: Self.digest,
                                        sealTo: .measurement, platform: FakeKeySource())
        }
        #expect(error?.code == .unwritable && error?.message.contains("next start will be a key release") == true)
    }
}
