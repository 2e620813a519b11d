import EnclavaWire
import Foundation
import Logging

/// The host's half of sealed restart (DESIGN.md §7) for an enclave the bridge launched with `--sealed-state host`:
/// the blob crosses the enclave's private control socket, never a shared file system, so the same code serves a
/// confidential VM. At start (the enclave waits for its key) the bridge offers the blob it keeps
/// (`OfferSealedState`, empty when it has none) and logs the enclave's answer; then it long-polls
/// `TakeSealedState` and replaces its copy with each new blob the enclave seals after a key release.
extension EnclaveSupervisor {
    /// Offers the kept blob to the enclave on `control`; true when the enclave opened it and is ready from it.
    func offerSealedState(_ file: KeptSealedState, control: TTRPCEndpoint) async -> Bool {
        let blob: [UInt8]
        do {
            blob = try file.read()
        } catch {
            self.logger.warning("\(error); offering none: this start is a key release, after which the enclave's new sealed state replaces it")
            return await self.offer([], control: control, file: file)
        }
        return await self.offer(blob, control: control, file: file)
    }

    private func offer(_ blob: [UInt8], control: TTRPCEndpoint, file: KeptSealedState) async -> Bool {
        var request = Enclava_V1_OfferSealedStateRequest()
        request.blob = Data(blob)
        do {
            let client = try await TTRPCClient.connect(to: control)
            defer { Task { await client.close() } }
            // Opening the state loads the model: allow for it.
            let answer = try await client.call(.offerSealedState, request, as: Enclava_V1_OfferSealedStateResponse.self,
                                               timeout: .seconds(120))
            let metadata: [String: Logger.MetadataValue] = ["sealed_state": "\(file.path)", "bytes": "\(blob.count)",
                                                            "outcome": "\(answer.outcome)"]
            switch answer.outcome {
            case .opened:
                self.logger.info("the enclave opened the sealed state it left here: ready with no key release", metadata: metadata)
                return true
            case .absent:
                self.logger.info("no sealed state kept for this image yet: the enclave waits for a key release", metadata: metadata)
            case .refused, .noSealingKey:
                self.logger.notice("the enclave did not use the kept sealed state (\(answer.message)); it waits for a key release, whose new sealed state replaces it", metadata: metadata)
            default:
                self.logger.notice("the enclave did not take the sealed state: \(answer.message)", metadata: metadata)
            }
        } catch {
            self.logger.warning("cannot offer the sealed state to the enclave: \(error); it waits for a key release")
        }
        return false
    }

    /// One `TakeSealedState` without waiting (at shutdown): keeps the enclave's newest blob, if it sealed one.
    func takeSealedStateOnce(_ file: KeptSealedState, control: TTRPCEndpoint) async {
        do {
            let client = try await TTRPCClient.connect(to: control, group: self.group, connectTimeout: .seconds(2))
            defer { Task { await client.close() } }
            let answer = try await client.call(.takeSealedState, Enclava_V1_TakeSealedStateRequest(),
                                               as: Enclava_V1_TakeSealedStateResponse.self, timeout: .seconds(5))
            guard answer.generation > 0, !answer.blob.isEmpty, try file.read() != [UInt8](answer.blob) else { return }
            try file.write([UInt8](answer.blob))
            self.logger.info("sealed state kept: the next start opens the model key with no owner or broker",
                             metadata: ["sealed_state": "\(file.path)", "bytes": "\(answer.blob.count)"])
        } catch {
            self.logger.warning("cannot take the enclave's sealed state before it stops: \(error)")
        }
    }

    /// Long-polls the enclave on `control` for new sealed state and keeps each one in `file`, until cancelled.
    func keepTakingSealedState(_ file: KeptSealedState, control: TTRPCEndpoint) -> Task<Void, Never> {
        let logger = self.logger
        return Task {
            var taken: UInt64 = 0
            var client: TTRPCClient?
            while !Task.isCancelled {
                do {
                    let connected: TTRPCClient
                    if let client { connected = client } else {
                        connected = try await TTRPCClient.connect(to: control)
                        client = connected
                    }
                    var request = Enclava_V1_TakeSealedStateRequest()
                    request.afterGeneration = taken
                    request.waitMs = 30_000
                    let answer = try await connected.call(.takeSealedState, request, as: Enclava_V1_TakeSealedStateResponse.self,
                                                          timeout: .seconds(40))
                    guard answer.generation > taken, !answer.blob.isEmpty else { continue }
                    taken = answer.generation
                    do {
                        try file.write([UInt8](answer.blob))
                        logger.info("sealed state kept: the next start opens the model key with no owner or broker",
                                    metadata: ["sealed_state": "\(file.path)", "bytes": "\(answer.blob.count)"])
                    } catch {
                        logger.warning("\(error); the next start is a key release again")
                    }
                } catch is CancellationError {
                    break
                } catch {
                    if let stale = client { await stale.close() }
                    client = nil
                    try? await Task.sleep(for: .seconds(1))   // the enclave is restarting, or stopping
                }
            }
            if let client { await client.close() }
        }
    }
}
