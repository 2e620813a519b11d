import EnclavaImage
import Foundation
import Testing
@testable import EnclaveRuntime

/// `enclava-runtime --signer-fingerprint`: the runtime refuses an image signed by any key but the pinned one,
/// before it unseals anything (issue 8 §6).
@Suite struct SignerPinTests {
    @Test func thePinnedSignerIsAcceptedInAnyCase() throws {
        let world = try EndToEndWorld.shared.get()
        let fingerprint = SignerKey.fingerprint(of: world.signer.publicKey)
        let image = try ModelLoader.openImage(path: world.imagePath, signerFingerprint: fingerprint)
        #expect(image.signerFingerprint == fingerprint)
        let parsed = try RuntimeOptions.parseSignerFingerprint("sha256:" + fingerprint.uppercased())
        #expect(try ModelLoader.openImage(path: world.imagePath, signerFingerprint: parsed).manifestDigest == world.manifestDigest)
    }

    @Test func anotherSignerIsRefusedNamingBothKeys() throws {
        let world = try EndToEndWorld.shared.get()
        let other = SignerKey.fingerprint(of: try SignerKey.generate().publicKey)
        let error = #expect(throws: RuntimeError.self) {
            try ModelLoader.openImage(path: world.imagePath, signerFingerprint: other)
        }
        #expect(error?.code == .wrongSigner)
        #expect(error?.message.contains(other) == true)
        #expect(error?.message.contains(SignerKey.fingerprint(of: world.signer.publicKey)) == true)
    }

    @Test(arguments: ["", "abc", String(repeating: "g", count: 64), String(repeating: "0", count: 63),
                      String(repeating: "0", count: 65), "sha384:" + String(repeating: "0", count: 64)])
    func malformedFingerprintsAreRefused(_ text: String) {
        let error = #expect(throws: RuntimeError.self) { try RuntimeOptions.parseSignerFingerprint(text) }
        #expect(error?.code == .invalidOption && error?.message.contains("64 hex digits") == true)
    }
}
