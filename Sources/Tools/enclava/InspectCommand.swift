import ArgumentParser
import EnclavaImage
import Foundation

/// `enclava inspect`: what an image holds (no secrets, no decryption).
struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Verify an image's signature and show its manifest, digest, model inputs and outputs, assets and key wrappings.",
        discussion: "No key is needed. --verify also hashes the whole encrypted payload against the signed header, so a damaged or altered image is found before any enclave is launched (exit 1).")

    @Argument(help: "The enclave image (.eimg).")
    var image: String

    @Option(help: "Also require that the image was signed by this key (private or public PEM).")
    var signer: String?

    @Flag(help: "Also check the encrypted payload against the hashes in the signed header (reads the whole image).")
    var verify = false

    @Flag(help: "Print JSON.")
    var json = false

    mutating func run() async throws {
        try CLI.requireReadableFile(image, what: "image")
        let opened = try EnclaveImage.open(path: image)
        if let signer {
            try CLI.requireReadableFile(signer, what: "signer key")
            try opened.verifySigner(expected: try SignerKey.loadPublicKey(path: signer))
        }
        if verify {
            let quiet = json || isatty(STDERR_FILENO) == 0
            try opened.verifyPayload(progress: { if !quiet { CLI.note($0) } })
        }
        let inspection = opened.inspect()
        print(json ? try CLI.json(inspection) : inspection.text)
        if verify && !json { print("payload          verified: every asset's ciphertext matches the signed header") }
    }
}
