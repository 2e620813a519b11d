import ArgumentParser
import EnclavaImage
import Foundation

/// `enclava keygen`: an ECDSA P-384 image-signing key.
struct KeygenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Create an ECDSA P-384 key for signing enclave images (PKCS#8 PEM, mode 0600)."
    )

    @Option(help: "Where to write the private key.")
    var out: String

    @Flag(help: "Replace an existing file.")
    var force = false

    mutating func run() async throws {
        try CLI.requireOutputFolder(out)
        if !force && FileManager.default.fileExists(atPath: out) {
            throw CLIError("\(out) already exists; choose another path or pass --force to replace it")
        }
        let key = try SignerKey.generate(writingTo: out, overwrite: force)
        print("wrote \(out) (ECDSA P-384); public key sha256:\(SignerKey.fingerprint(of: key.publicKey))")
    }
}
