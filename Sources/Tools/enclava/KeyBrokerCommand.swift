import ArgumentParser
import EnclavaAttestation
import EnclavaCrypto
import EnclavaImage
import Foundation
import KeyBroker

/// `enclava keybroker`: the key broker that releases model keys to attested enclaves (DESIGN.md §7).
struct KeyBrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keybroker",
        abstract: "Release model keys to attested enclaves: a store of images, keys and policies, and its server.",
        discussion: """
            enclava keybroker init   --store DIR
            enclava keybroker add    --store DIR --image X.eimg --owner-key X.key --policy P.json
            enclava keybroker serve  --store DIR --listen HOST:PORT
            enclava keybroker revoke --store DIR --image NAME-or-DIGEST
            enclava keybroker log    --store DIR [--json]
            """,
        subcommands: [KeyBrokerInitCommand.self, KeyBrokerAddCommand.self, KeyBrokerServeCommand.self,
                      KeyBrokerRevokeCommand.self, KeyBrokerLogCommand.self]
    )
}

/// `enclava keybroker init`: a new store with a fresh master key.
struct KeyBrokerInitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Create a key broker store: master.key (0600) and an empty database.")

    @Option(help: "The store folder (created 0700 when missing).")
    var store: String

    func run() throws {
        try KeyBrokerStore.initialize(directory: store)
        print("enclava keybroker: store created in \(store) (master key \(store)/\(KeyBrokerStore.masterKeyFileName), "
              + "mode 0600: back it up; without it the stored keys are lost)")
    }
}

/// `enclava keybroker add`: adds an image's key and release policy.
struct KeyBrokerAddCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add an image's key with the policy an enclave's evidence must meet to receive it.",
        discussion: "The key must be the one the image's signed header commits to (`enclava package --owner-key-out`), and the policy (from `enclava policy create`) must pin this image's manifest digest.")

    @Option(help: "The store folder.")
    var store: String

    @Option(help: "The signed image (packaged with [keys] release = \"broker\").")
    var image: String

    @Option(name: .customLong("owner-key"), help: "The image's key file from `enclava package --owner-key-out`.")
    var ownerKey: String

    @Option(help: "The release policy (JSON) from `enclava policy create`: which measurements, platforms, TCB and debug receive the key.")
    var policy: String

    func run() throws {
        let opened = try KeyBrokerStore(directory: store)
        try CLI.requireReadableFile(image, what: "image")
        try CLI.requireReadableFile(ownerKey, what: "owner key")
        try CLI.requireReadableFile(policy, what: "policy")
        let enclaveImage = try EnclaveImage.open(path: image)
        let key = try OwnerKeyFile.load(path: ownerKey)
        guard let policyData = FileManager.default.contents(atPath: policy), policyData.count <= 1 << 20 else {
            throw CLIError("cannot read the policy \(policy) (or it is over 1 MiB)")
        }
        let added = try opened.add(image: enclaveImage, ownerKey: key, policyJSON: String(decoding: policyData, as: UTF8.self),
                                   policySource: policy)
        print("enclava keybroker: added \(added.name) \(added.version) (manifest digest \(added.manifestDigestHex))")
        if let loaded = try? added.policy() {
            print("  released to      \(loaded.allowedPlatforms.map(\.rawValue).joined(separator: ", ")) evidence with "
                  + "\(loaded.expectedMeasurements.count) pinned measurement(s)")
            if loaded.allowSimulation {
                CLI.note("warning: this policy accepts simulated evidence (allow_simulation): any machine with the "
                         + "simulated platform can receive the key; use it for development only")
            }
            if loaded.allowDebug { CLI.note("warning: this policy accepts debug guests (allow_debug): development only") }
        }
    }
}

/// `enclava keybroker revoke`: stops releasing an image's key.
struct KeyBrokerRevokeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Stop releasing the key of every image with this name or manifest digest (a running broker sees it at once).")

    @Option(help: "The store folder.")
    var store: String

    @Option(help: "The image name or its manifest digest (hex).")
    var image: String

    func run() throws {
        let revoked = try KeyBrokerStore(directory: store).revoke(image)
        for entry in revoked {
            print("enclava keybroker: revoked \(entry.name) \(entry.version) (manifest digest \(entry.manifestDigestHex))")
        }
    }
}

/// `enclava keybroker log`: the audit log.
struct KeyBrokerLogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Print the audit log: every release, refusal (with the field that failed and why), addition and revocation.")

    @Option(help: "The store folder.")
    var store: String

    @Option(help: "Only the last N lines.")
    var last: Int?

    @Flag(help: "Print a JSON array of lines.")
    var json = false

    func run() throws {
        if let last, last < 1 { throw CLIError("--last must be at least 1, got \(last)") }
        let lines = try KeyBrokerStore(directory: store).auditLog(limit: last)
        if json {
            print(try CLI.json(lines))
            return
        }
        for line in lines {
            var text = "\(line.time)  \(line.decision.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0))  "
                + "\(line.image.isEmpty ? "-" : line.image)  \(line.manifestDigest.isEmpty ? "-" : line.manifestDigest.prefix(16) + "…")"
            if !line.platform.isEmpty { text += "  \(line.platform)" }
            if !line.measurement.isEmpty { text += "  measurement \(line.measurement.prefix(16))…" }
            if !line.tcb.isEmpty { text += "  tcb \(line.tcb)" }
            if !line.field.isEmpty { text += "  [\(line.field)]" }
            if !line.reason.isEmpty { text += "  \(line.reason)" }
            text += "  peer \(line.peer)"
            print(text)
        }
    }
}
