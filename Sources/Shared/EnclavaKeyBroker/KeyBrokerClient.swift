import EnclavaAttestation
import EnclavaCrypto
import EnclavaWire
import Foundation
import SwiftProtobuf

/// The enclave's side of a key broker release (DESIGN.md §7, Protos/keybroker.proto): request → challenge →
/// attestation → response, on one connection.
///
/// ```swift
/// let dek = try await KeyBrokerClient.requestDEK(
///     from: .unix(brokerSocketPath), manifestDigest: image.manifestDigest, imageName: manifest.name,
///     backend: platform.backend) { reportData in try platform.evidence(reportData: reportData) }
/// try image.checkOwnerKey(dek)   // the header's commitment decides whether the key is this image's
/// ```
///
/// Each call makes a fresh X25519 key that lives only for this release: the broker's answer opens only with it,
/// so an answer captured on the way is useless to anyone else, and to this enclave in any later release.
public enum KeyBrokerClient {
    /// Connects to the broker (through the bridge's forwarding socket, `unix:PATH`, or directly) and asks for
    /// the model key of the image whose manifest digest is `manifestDigest`.
    ///
    /// - Parameters:
    ///   - endpoint: where the broker is reached.
    ///   - manifestDigest: the image's manifest digest (48 bytes).
    ///   - imageName: the image name, display text for the broker's audit log.
    ///   - backend: the backend name (`sim`, `sev-snp`, `tdx`, `sgx`), display text.
    ///   - timeout: the deadline of each call.
    ///   - evidence: the platform's evidence over the 64 report-data bytes it is given (``ReportData``).
    /// - Returns: the model key (32 bytes). The caller checks it against the image's key commitment.
    /// - Throws: ``KeyBrokerClientError``.
    public static func requestDEK(
        from endpoint: TTRPCEndpoint, manifestDigest: [UInt8], imageName: String, backend: String,
        timeout: Duration = .seconds(30), evidence: (_ reportData: [UInt8]) throws -> Evidence
    ) async throws -> SecureBytes {
        let client: TTRPCClient
        do {
            client = try await TTRPCClient.connect(to: endpoint, maxFrameBytes: KeyBrokerProtocol.maxFrameBytes)
        } catch {
            throw KeyBrokerClientError(.unreachable, "cannot connect to the key broker at \(endpoint): \(error); "
                                           + "check `enclava serve --key-broker` and that the broker runs")
        }
        do {
            let dek = try await requestDEK(using: client, manifestDigest: manifestDigest, imageName: imageName,
                                           backend: backend, timeout: timeout, evidence: evidence)
            await client.close()
            return dek
        } catch {
            await client.close()
            throw error
        }
    }

    /// ``requestDEK(from:manifestDigest:imageName:backend:timeout:evidence:)`` over a connected client (tests use
    /// it to hold a connection open or to interleave requests).
    /// - Throws: ``KeyBrokerClientError``.
    public static func requestDEK(
        using client: TTRPCClient, manifestDigest: [UInt8], imageName: String, backend: String,
        timeout: Duration = .seconds(30), evidence: (_ reportData: [UInt8]) throws -> Evidence
    ) async throws -> SecureBytes {
        let challenge = try await requestChallenge(using: client, manifestDigest: manifestDigest, imageName: imageName,
                                                   backend: backend, timeout: timeout)
        let releaseKey = X25519PrivateKey()
        let reportData = ReportData.make(nonce: challenge.nonce, manifestDigest: manifestDigest,
                                         hpkePublicKey: releaseKey.publicKey)
        let produced: Evidence
        do {
            produced = try evidence(reportData)
        } catch {
            throw KeyBrokerClientError(.evidenceFailed, "the platform could not produce evidence for the broker's challenge: \(error)")
        }
        let sealed = try await attest(using: client, challengeID: challenge.id, evidence: produced,
                                      hpkePublicKey: releaseKey.publicKey, timeout: timeout)
        do {
            return try KeyReleaseSealing.open(sealed, privateKey: releaseKey, purpose: .brokerRelease,
                                              evidenceDigest: SHA2.sha384(produced.blob), manifestDigest: manifestDigest)
        } catch {
            throw KeyBrokerClientError(.openFailed, "the broker's answer does not open with this release's key for this "
                                           + "evidence and image (replayed or altered on the way): \(error)")
        }
    }

    /// A challenge the broker issued: its id and nonce.
    public struct Challenge: Sendable, Equatable {
        /// The challenge id (16 bytes).
        public let id: [UInt8]
        /// The nonce to bind in the report data (32 bytes).
        public let nonce: [UInt8]
    }

    /// Step 1: `RequestKey` → a checked challenge.
    /// - Throws: ``KeyBrokerClientError``.
    public static func requestChallenge(
        using client: TTRPCClient, manifestDigest: [UInt8], imageName: String, backend: String,
        timeout: Duration = .seconds(30)
    ) async throws -> Challenge {
        var request = Enclava_Keybroker_V1_RequestKeyRequest()
        request.manifestDigest = Data(manifestDigest)
        request.imageName = truncated(imageName, toBytes: KeyBrokerProtocol.maxImageNameBytes)
        request.backend = truncated(backend, toBytes: KeyBrokerProtocol.maxBackendBytes)
        let answer = try await call(client, .requestKey, request, timeout: timeout)
        do {
            return try KeyBrokerMessages.challenge(answer)
        } catch {
            throw KeyBrokerClientError(.malformedAnswer, "the broker's challenge is malformed: \(error)")
        }
    }

    /// Step 2: `Attest` → the sealed model key.
    /// - Throws: ``KeyBrokerClientError``.
    public static func attest(
        using client: TTRPCClient, challengeID: [UInt8], evidence: Evidence, hpkePublicKey: [UInt8],
        timeout: Duration = .seconds(30)
    ) async throws -> KeyReleaseSealing.Sealed {
        guard let format = KeyBrokerProtocol.wireFormat(evidence.platform) else {
            throw KeyBrokerClientError(.evidenceFailed, "\(evidence.platform.rawValue) evidence cannot be sent to a key broker")
        }
        var request = Enclava_Keybroker_V1_AttestRequest()
        request.challengeID = Data(challengeID)
        request.format = format
        request.evidence = Data(evidence.blob)
        request.certificates = evidence.certificates.map { Data($0) }
        if let collateral = evidence.collateral?.quote { request.collateral = Data(collateral.dcapQVLJSON) }
        request.hpkePublicKey = Data(hpkePublicKey)
        let answer = try await call(client, .attest, request, timeout: timeout)
        do {
            return try KeyBrokerMessages.release(answer)
        } catch {
            throw KeyBrokerClientError(.malformedAnswer, "the broker's release is malformed: \(error)")
        }
    }

    /// The longest prefix of whole characters of `text` that fits in `limit` UTF-8 bytes.
    static func truncated(_ text: String, toBytes limit: Int) -> String {
        var result = ""
        var used = 0
        for character in text {
            let size = character.utf8.count
            guard used + size <= limit else { break }
            result.append(character)
            used += size
        }
        return result
    }

    /// One call; the raw answer payload.
    static func call(_ client: TTRPCClient, _ method: KeyBrokerProtocol.Method, _ request: some SwiftProtobuf.Message,
                     timeout: Duration) async throws -> [UInt8] {
        let payload: [UInt8]
        do {
            payload = try request.serializedBytes()
        } catch {
            throw KeyBrokerClientError(.malformedAnswer, "cannot serialize the \(method.rawValue) request: \(error)")
        }
        do {
            return try await client.call(service: KeyBrokerProtocol.serviceName, method: method.rawValue,
                                         payload: payload, timeout: timeout)
        } catch let error as RPCError {
            throw KeyBrokerClientError.from(error, during: method.rawValue)
        }
    }
}
