import EnclavaAttestation
import EnclavaCrypto
import EnclavaWire
import Foundation
import SwiftProtobuf

/// Parses and bounds the broker's two request messages. Every byte is hostile: each field is checked for size
/// before anything else looks at it, and a failure names the field (for the broker's audit log, never the
/// enclave).
public enum KeyBrokerMessages {
    /// A checked `RequestKey`.
    public struct KeyRequest: Sendable, Equatable {
        /// The manifest digest asked for (48 bytes).
        public let manifestDigest: [UInt8]
        /// The image name the enclave gave (display text, bounded, control characters replaced).
        public let imageName: String
        /// The backend the enclave claims (display text).
        public let backend: String

        /// A request (tests and the broker's unit tests; the wire form comes through ``KeyBrokerMessages/keyRequest(_:)``).
        public init(manifestDigest: [UInt8], imageName: String, backend: String) {
            self.manifestDigest = manifestDigest
            self.imageName = imageName
            self.backend = backend
        }
    }

    /// A checked `Attest`: the challenge it answers, the evidence (still unverified) and the fresh key.
    public struct Attestation: Sendable, Equatable {
        /// The challenge id (16 bytes).
        public let challengeID: [UInt8]
        /// The evidence with its certificates and (parsed) collateral; not verified.
        public let evidence: Evidence
        /// The enclave's fresh X25519 key for this release (32 bytes).
        public let hpkePublicKey: [UInt8]
    }

    /// Why a message was refused: the field and a sentence.
    public struct Invalid: Error, Sendable, Equatable, CustomStringConvertible {
        /// The proto field that failed (`manifest_digest`, `evidence`, …), or `payload`.
        public let field: String
        /// What was wrong.
        public let message: String

        init(_ field: String, _ message: String) {
            self.field = field
            self.message = message
        }

        public var description: String { "\(field): \(message)" }
    }

    /// Parses a `RequestKey` payload.
    /// - Throws: ``Invalid`` naming the field.
    public static func keyRequest(_ payload: [UInt8]) throws -> KeyRequest {
        let message: Enclava_Keybroker_V1_RequestKeyRequest
        do {
            message = try Enclava_Keybroker_V1_RequestKeyRequest(serializedBytes: payload)
        } catch {
            throw Invalid("payload", "not a RequestKeyRequest")
        }
        guard message.manifestDigest.count == KeyBrokerProtocol.manifestDigestByteCount else {
            throw Invalid("manifest_digest", "\(message.manifestDigest.count) bytes, expected \(KeyBrokerProtocol.manifestDigestByteCount)")
        }
        guard message.imageName.utf8.count <= KeyBrokerProtocol.maxImageNameBytes else {
            throw Invalid("image_name", "\(message.imageName.utf8.count) bytes, at most \(KeyBrokerProtocol.maxImageNameBytes)")
        }
        guard message.backend.utf8.count <= KeyBrokerProtocol.maxBackendBytes else {
            throw Invalid("backend", "\(message.backend.utf8.count) bytes, at most \(KeyBrokerProtocol.maxBackendBytes)")
        }
        return KeyRequest(manifestDigest: [UInt8](message.manifestDigest), imageName: printable(message.imageName),
                          backend: printable(message.backend))
    }

    /// Parses an `Attest` payload. Relayed collateral is parsed (not verified) here; collateral that does not
    /// parse is refused rather than dropped.
    /// - Throws: ``Invalid`` naming the field.
    public static func attestation(_ payload: [UInt8]) throws -> Attestation {
        let message: Enclava_Keybroker_V1_AttestRequest
        do {
            message = try Enclava_Keybroker_V1_AttestRequest(serializedBytes: payload)
        } catch {
            throw Invalid("payload", "not an AttestRequest")
        }
        guard message.challengeID.count == KeyBrokerProtocol.challengeIDByteCount else {
            throw Invalid("challenge_id", "\(message.challengeID.count) bytes, expected \(KeyBrokerProtocol.challengeIDByteCount)")
        }
        guard message.hpkePublicKey.count == ReportData.hpkePublicKeyByteCount else {
            throw Invalid("hpke_public_key", "\(message.hpkePublicKey.count) bytes, expected \(ReportData.hpkePublicKeyByteCount)")
        }
        guard let platform = KeyBrokerProtocol.platform(message.format) else {
            throw Invalid("format", "unknown evidence format \(message.format.rawValue)")
        }
        guard !message.evidence.isEmpty, message.evidence.count <= KeyBrokerProtocol.maxEvidenceBytes else {
            throw Invalid("evidence", "\(message.evidence.count) bytes, expected 1…\(KeyBrokerProtocol.maxEvidenceBytes)")
        }
        guard message.certificates.count <= KeyBrokerProtocol.maxCertificates else {
            throw Invalid("certificates", "\(message.certificates.count) certificates, at most \(KeyBrokerProtocol.maxCertificates)")
        }
        for (index, certificate) in message.certificates.enumerated()
        where certificate.isEmpty || certificate.count > KeyBrokerProtocol.maxCertificateBytes {
            throw Invalid("certificates[\(index)]", "\(certificate.count) bytes, expected 1…\(KeyBrokerProtocol.maxCertificateBytes)")
        }
        guard message.collateral.count <= KeyBrokerProtocol.maxCollateralBytes else {
            throw Invalid("collateral", "\(message.collateral.count) bytes, at most \(KeyBrokerProtocol.maxCollateralBytes)")
        }
        var evidence = Evidence(platform: platform, blob: [UInt8](message.evidence),
                                certificates: message.certificates.map { [UInt8]($0) })
        if !message.collateral.isEmpty {
            do {
                evidence.collateral = EvidenceCollateral(quote: try QuoteCollateral(dcapQVLJSON: [UInt8](message.collateral)))
            } catch let error as AttestationError {
                throw Invalid("collateral", "\(error.code.rawValue): \(error.message)")
            } catch {
                throw Invalid("collateral", "\(error)")
            }
        }
        return Attestation(challengeID: [UInt8](message.challengeID), evidence: evidence,
                           hpkePublicKey: [UInt8](message.hpkePublicKey))
    }

    /// Parses the broker's `KeyChallenge` answer (the enclave's side).
    /// - Throws: ``Invalid`` naming the field.
    public static func challenge(_ payload: [UInt8]) throws -> KeyBrokerClient.Challenge {
        let message: Enclava_Keybroker_V1_KeyChallenge
        do {
            message = try Enclava_Keybroker_V1_KeyChallenge(serializedBytes: payload)
        } catch {
            throw Invalid("payload", "not a KeyChallenge")
        }
        guard message.challengeID.count == KeyBrokerProtocol.challengeIDByteCount else {
            throw Invalid("challenge_id", "\(message.challengeID.count) bytes, expected \(KeyBrokerProtocol.challengeIDByteCount)")
        }
        guard message.nonce.count == KeyBrokerProtocol.nonceByteCount else {
            throw Invalid("nonce", "\(message.nonce.count) bytes, expected \(KeyBrokerProtocol.nonceByteCount)")
        }
        return KeyBrokerClient.Challenge(id: [UInt8](message.challengeID), nonce: [UInt8](message.nonce))
    }

    /// Parses the broker's `KeyRelease` answer (the enclave's side): a 32-byte `enc` and a 48-byte sealed key.
    /// - Throws: ``Invalid`` naming the field.
    public static func release(_ payload: [UInt8]) throws -> KeyReleaseSealing.Sealed {
        let message: Enclava_Keybroker_V1_KeyRelease
        do {
            message = try Enclava_Keybroker_V1_KeyRelease(serializedBytes: payload)
        } catch {
            throw Invalid("payload", "not a KeyRelease")
        }
        guard message.enc.count == HPKE.encapsulatedKeyByteCount else {
            throw Invalid("enc", "\(message.enc.count) bytes, expected \(HPKE.encapsulatedKeyByteCount)")
        }
        let sealedCount = KeyReleaseSealing.dekByteCount + AESGCM.tagByteCount
        guard message.sealedKey.count == sealedCount else {
            throw Invalid("sealed_key", "\(message.sealedKey.count) bytes, expected \(sealedCount)")
        }
        return KeyReleaseSealing.Sealed(enc: [UInt8](message.enc), ciphertext: [UInt8](message.sealedKey))
    }

    /// Display text with control characters replaced, so a hostile name cannot forge audit log lines.
    static func printable(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map {
            $0.properties.generalCategory == .control || $0.properties.generalCategory == .format ? "?" : $0
        }))
    }
}
