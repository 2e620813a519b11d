import EnclavaCrypto
import Foundation
@testable import EnclavaAttestation

/// The real AWS Nitro attestation documents of `../shared/testdata/attestation/nitro` and helpers that
/// rebuild, re-sign or generate documents for the negative tests.
enum NitroSamples {
    static let folder = TestData.shared.appendingPathComponent("testdata/attestation/nitro/blocky-nitrite")

    static func base64File(_ name: String) throws -> [UInt8] {
        let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
        guard let data = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw TestFailure("\(name) is not base64")
        }
        return Array(data)
    }

    static let normal: [UInt8] = (try? base64File("nitro_attestation.b64")) ?? []
    static let debug: [UInt8] = (try? base64File("nitro_attestation_debug.b64")) ?? []

    /// The times PROVENANCE.md gives (the documents' own timestamps).
    static let normalTime = Date(timeIntervalSince1970: 1_725_719_859.545)
    static let debugTime = Date(timeIntervalSince1970: 1_725_719_886.508)

    static func payloadMap(_ document: [UInt8]) throws -> [CBORValue.Entry] {
        let cose = try COSESign1(parsing: document)
        guard case .map(let entries) = try CBORDecoder.decode(cose.payload, structure: "payload") else {
            throw TestFailure("payload is not a map")
        }
        return entries
    }

    /// The document with its payload map changed and re-encoded, keeping the original protected header and
    /// signature (so only checks before the signature can tell what was changed).
    static func rewritten(_ document: [UInt8], _ change: (inout [CBORValue.Entry]) throws -> Void) throws -> [UInt8] {
        let cose = try COSESign1(parsing: document)
        var entries = try payloadMap(document)
        try change(&entries)
        return wrap(protected: cose.protectedHeader, payload: CBORValue.map(entries).encoded, signature: cose.signature)
    }

    static func wrap(protected: [UInt8], payload: [UInt8], signature: [UInt8]) -> [UInt8] {
        CBORValue.array([.bytes(protected), .map([]), .bytes(payload), .bytes(signature)]).encoded
    }

    static func value(_ entries: [CBORValue.Entry], _ key: String) -> CBORValue? {
        entries.first { $0.key == .text(key) }?.value
    }

    static func set(_ entries: inout [CBORValue.Entry], _ key: String, _ value: CBORValue) {
        if let index = entries.firstIndex(where: { $0.key == .text(key) }) {
            entries[index] = CBORValue.Entry(key: .text(key), value: value)
        } else {
            entries.append(CBORValue.Entry(key: .text(key), value: value))
        }
    }

    static func cabundle(_ entries: [CBORValue.Entry]) -> [CBORValue] {
        guard case .array(let items) = value(entries, "cabundle") else { return [] }
        return items
    }
}

/// A generated Nitro-shaped chain (root → intermediate → leaf, ECDSA P-384) and documents signed by it.
struct GeneratedNitroChain {
    let root: Certificate
    let intermediate: Certificate
    let leaf: Certificate
    let leafKey: ECDSAPrivateKey
    static let notBefore = Date(timeIntervalSince1970: 1_725_000_000)
    static let notAfter = Date(timeIntervalSince1970: 1_726_000_000)
    static let time = Date(timeIntervalSince1970: 1_725_500_000)

    init(rootSubject: [(String, String)] = [("C", "US"), ("O", "Test"), ("CN", "test.nitro-enclaves")]) throws {
        let rootKey = try ECDSAPrivateKey.generate(curve: .p384)
        let intermediateKey = try ECDSAPrivateKey.generate(curve: .p384)
        leafKey = try ECDSAPrivateKey.generate(curve: .p384)
        root = try CertificateBuilder(subject: rootSubject, notBefore: Self.notBefore, notAfter: Self.notAfter, isCA: true)
            .build(subjectPublicKeySPKI: rootKey.publicKey.spkiDER, issuer: nil, signer: .ecdsa(rootKey, .sha384))
        intermediate = try CertificateBuilder(
            subject: [("CN", "intermediate.test.nitro-enclaves")], notBefore: Self.notBefore, notAfter: Self.notAfter, isCA: true
        ).build(subjectPublicKeySPKI: intermediateKey.publicKey.spkiDER, issuer: root, signer: .ecdsa(rootKey, .sha384))
        leaf = try CertificateBuilder(subject: [("CN", "i-0123.test.nitro-enclaves")], notBefore: Self.notBefore, notAfter: Self.notAfter)
            .build(subjectPublicKeySPKI: leafKey.publicKey.spkiDER, issuer: intermediate, signer: .ecdsa(intermediateKey, .sha384))
    }

    /// A signed document with this chain, PCR0 = `pcr0`, and `user_data` as given.
    func document(pcr0: [UInt8] = [UInt8](repeating: 0xA5, count: 48), userData: [UInt8]? = nil,
                  change: (inout [CBORValue.Entry]) -> Void = { _ in }) throws -> [UInt8] {
        var pcrs: [CBORValue.Entry] = [CBORValue.Entry(key: .unsigned(0), value: .bytes(pcr0))]
        for index in 1..<16 { pcrs.append(CBORValue.Entry(key: .unsigned(UInt64(index)), value: .bytes([UInt8](repeating: 0, count: 48)))) }
        var entries: [CBORValue.Entry] = [
            .init(key: .text("module_id"), value: .text("i-0123-enc0001")),
            .init(key: .text("digest"), value: .text("SHA384")),
            .init(key: .text("timestamp"), value: .unsigned(UInt64(Self.time.timeIntervalSince1970 * 1000))),
            .init(key: .text("pcrs"), value: .map(pcrs)),
            .init(key: .text("certificate"), value: .bytes(leaf.derRepresentation)),
            .init(key: .text("cabundle"), value: .array([.bytes(root.derRepresentation), .bytes(intermediate.derRepresentation)])),
            .init(key: .text("public_key"), value: .null),
            .init(key: .text("user_data"), value: userData.map(CBORValue.bytes) ?? .null),
            .init(key: .text("nonce"), value: .null),
        ]
        change(&entries)
        let protected = CBORValue.map([.init(key: .unsigned(1), value: .negative(34))]).encoded
        let payload = CBORValue.map(entries).encoded
        let toSign = CBORValue.array([.text("Signature1"), .bytes(protected), .bytes([]), .bytes(payload)]).encoded
        let signature = try leafKey.signature(for: toSign, digest: .sha384).rawRepresentation
        return NitroSamples.wrap(protected: protected, payload: payload, signature: signature)
    }
}

/// The error a throwing call raised, as an ``AttestationError`` (nil when it did not throw one).
func nitroError(_ body: () throws -> Void) -> AttestationError? {
    do {
        try body()
        return nil
    } catch let error as AttestationError {
        return error
    } catch {
        return AttestationError(.malformedEvidence, field: "unexpected \(type(of: error))", "\(error)")
    }
}
