import EnclavaCrypto
import Foundation
import Testing
@testable import EnclavaImage

/// `enclava inspect` says whether an image restarts from sealed state, and where (TDX: every start is a release).
@Suite struct SealedRestartInspectionTests {
    static func manifest(_ keys: String) -> String {
        PackagingFixture.manifest.replacingOccurrences(of: "[keys]\nrelease = \"sealed\"", with: "[keys]\n" + keys)
    }

    @Test func anOwnerImageShowsEachBackend() throws {
        let fixture = try PackagingFixture(manifest: Self.manifest("release = \"owner\""))
        _ = try ImagePackager.package(manifestPath: fixture.manifestPath, signer: fixture.signer,
                                      outputPath: fixture.folder.file("owner.eimg"),
                                      wrapping: .owner(keyOutputPath: fixture.folder.file("owner.key")))
        let info = try EnclaveImage.open(path: fixture.folder.file("owner.eimg")).inspect()
        let restart = try #require(info.sealedRestart)
        #expect(restart.applies && restart.sealTo == "measurement")
        #expect(restart.backends.map(\.backend) == ["sim", "sev-snp", "sgx", "tdx"])
        #expect(restart.backends.map(\.available) == [true, true, true, false])
        #expect(restart.backends[3].note == "TDX has no sealing key; every start is a release")
        #expect(info.text.contains("sealed restart   seal_to = \"measurement\""))
        #expect(info.text.contains("\n  tdx" + String(repeating: " ", count: 12) + "no: TDX has no sealing key; every start is a release"))
        #expect(info.text.contains("\n  sev-snp" + String(repeating: " ", count: 8) + "yes: SNP_GET_DERIVED_KEY"))
        let json = String(decoding: try JSONEncoder().encode(info), as: UTF8.self)
        #expect(json.contains("\"sealed_restart\"") && json.contains("\"seal_to\":\"measurement\""))
        #expect(try JSONDecoder().decode(ImageInspection.self, from: Data(json.utf8)) == info)
    }

    @Test func signerIsSGXOnlyAndASealedImageNeedsNoRestartState() throws {
        let signer = ImageInspection.SealedRestart(keys: Manifest.Keys(release: .broker, sealTo: .signer))
        #expect(signer.sealTo == "signer")
        #expect(signer.backends.filter(\.available).map(\.backend) == ["sgx"])
        #expect(signer.backends.first { $0.backend == "sev-snp" }?.note.contains("SGX only") == true)

        let sealed = ImageInspection.SealedRestart(keys: Manifest.Keys(release: .sealed))
        #expect(!sealed.applies && sealed.backends.isEmpty)
        #expect(sealed.lines == ["sealed restart   not needed: the key is sealed in the image (release = \"sealed\")"])
        #expect(SealedRestartSupport.answer(backend: "trustzone", sealTo: .measurement) == nil)
    }

    @Test func stateFilesAreNamedByManifestDigest() throws {
        let digest = SHA2.sha384(Array("m".utf8))
        #expect(SealedStateFile.fileName(manifestDigest: digest) == Hex.encode(digest) + ".sealed")
    }
}
