import ArgumentParser
import EnclavaImage
import Foundation

/// `enclava inspect`: what an image holds (no secrets, no decryption).
struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Verify an image's signature and show its manifest, digest, assets and key wrappings."
    )

    @Argument(help: "The enclave image (.eimg).")
    var image: String

    @Option(help: "Also require that the image was signed by this key (private or public PEM).")
    var signer: String?

    @Flag(help: "Print JSON.")
    var json = false

    mutating func run() async throws {
        try CLI.requireReadableFile(image, what: "image")
        let opened = try EnclaveImage.open(path: image)
        if let signer {
            try CLI.requireReadableFile(signer, what: "signer key")
            try opened.verifySigner(expected: try SignerKey.loadPublicKey(path: signer))
        }
        let inspection = opened.inspect()
        print(json ? try CLI.json(inspection) : inspection.text)
    }
}
