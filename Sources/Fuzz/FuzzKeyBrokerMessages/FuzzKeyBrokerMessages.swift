import EnclavaAttestation
import EnclavaKeyBroker
import EnclavaWire
import Foundation
import FuzzSupport
import SwiftProtobuf

/// libFuzzer entry for the key broker's messages (Protos/keybroker.proto): byte 0 picks the parser — the two the
/// broker runs on what an enclave (or a host in its place) sends (`RequestKey`, `Attest`, through
/// ``KeyBrokerMessages``), and the two the enclave runs on the broker's answers (`KeyChallenge`, `KeyRelease`) —
/// the rest is the payload. Whatever a parser accepts must be within the protocol's bounds, and must encode and
/// parse back to the same value.
/// Built only by `make fuzz` (ENCLAVA_FUZZ=1, `-sanitize=fuzzer -parse-as-library`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzKeyBrokerMessages(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = FuzzDriver.bytes(data, size)
    guard let selector = bytes.first else { return 0 }
    let body = Array(bytes.dropFirst())
    switch selector % 4 {
    case 0:
        guard let request = try? KeyBrokerMessages.keyRequest(body) else { return 0 }
        precondition(request.manifestDigest.count == KeyBrokerProtocol.manifestDigestByteCount, "digest size")
        precondition(request.imageName.utf8.count <= KeyBrokerProtocol.maxImageNameBytes * 3, "image name bound")
        precondition(!request.imageName.unicodeScalars.contains { $0.properties.generalCategory == .control },
                     "a control character reached the audit log")
        var again = Enclava_Keybroker_V1_RequestKeyRequest()
        again.manifestDigest = Data(request.manifestDigest)
        again.imageName = request.imageName
        again.backend = request.backend
        precondition((try? KeyBrokerMessages.keyRequest(try again.serializedBytes())) == request, "RequestKey round trip")
    case 1:
        guard let attestation = try? KeyBrokerMessages.attestation(body) else { return 0 }
        precondition(attestation.challengeID.count == KeyBrokerProtocol.challengeIDByteCount, "challenge id size")
        precondition(attestation.hpkePublicKey.count == ReportData.hpkePublicKeyByteCount, "key size")
        precondition((1...KeyBrokerProtocol.maxEvidenceBytes).contains(attestation.evidence.blob.count), "evidence bound")
        precondition(attestation.evidence.certificates.count <= KeyBrokerProtocol.maxCertificates, "certificate count")
        var again = Enclava_Keybroker_V1_AttestRequest()
        again.challengeID = Data(attestation.challengeID)
        again.format = KeyBrokerProtocol.wireFormat(attestation.evidence.platform) ?? .unspecified
        again.evidence = Data(attestation.evidence.blob)
        again.certificates = attestation.evidence.certificates.map { Data($0) }
        if let collateral = attestation.evidence.collateral?.quote { again.collateral = Data(collateral.dcapQVLJSON) }
        again.hpkePublicKey = Data(attestation.hpkePublicKey)
        guard let reparsed = try? KeyBrokerMessages.attestation(try again.serializedBytes()) else {
            fatalError("an accepted Attest does not parse again after encoding")
        }
        precondition(reparsed.challengeID == attestation.challengeID && reparsed.evidence.blob == attestation.evidence.blob
                     && reparsed.hpkePublicKey == attestation.hpkePublicKey, "Attest round trip")
    case 2:
        guard let challenge = try? KeyBrokerMessages.challenge(body) else { return 0 }
        precondition(challenge.id.count == 16 && challenge.nonce.count == 32, "challenge sizes")
    default:
        guard let sealed = try? KeyBrokerMessages.release(body) else { return 0 }
        precondition(sealed.enc.count == 32 && sealed.ciphertext.count == 48, "release sizes")
    }
    return 0
}

/// Writes seed inputs (byte 0 + a real message) into `folder`.
private func writeSeeds(_ folder: String) throws {
    var request = Enclava_Keybroker_V1_RequestKeyRequest()
    request.manifestDigest = Data(repeating: 0xAB, count: 48)
    request.imageName = "fraud-detector"
    request.backend = "sim"
    var attest = Enclava_Keybroker_V1_AttestRequest()
    attest.challengeID = Data(repeating: 1, count: 16)
    attest.format = .sevSnp
    attest.evidence = Data(repeating: 0x5A, count: 1184)
    attest.certificates = [Data(repeating: 0x30, count: 64), Data(repeating: 0x31, count: 64)]
    attest.hpkePublicKey = Data(repeating: 2, count: 32)
    var challenge = Enclava_Keybroker_V1_KeyChallenge()
    challenge.challengeID = Data(repeating: 3, count: 16)
    challenge.nonce = Data(repeating: 4, count: 32)
    var release = Enclava_Keybroker_V1_KeyRelease()
    release.enc = Data(repeating: 5, count: 32)
    release.sealedKey = Data(repeating: 6, count: 48)
    let seeds: [(UInt8, any SwiftProtobuf.Message)] = [(0, request), (1, attest), (2, challenge), (3, release)]
    for (selector, message) in seeds {
        let bytes: [UInt8] = [selector] + (try message.serializedBytes() as [UInt8])
        try Data(bytes).write(to: URL(fileURLWithPath: "\(folder)/message-\(selector).bin"))
    }
}

/// `main` for libFuzzer (see ``FuzzDriver/run(_:_:_:)``); with `ENCLAVA_FUZZ_WRITE_SEEDS=<folder>` it writes
/// its seed inputs there instead.
@_cdecl("FuzzKeyBrokerMessages_main")
public func fuzzKeyBrokerMessagesMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    if let folder = FuzzDriver.seedFolder {
        do { try writeSeeds(folder) } catch { fatalError("cannot write seeds: \(error)") }
        return 0
    }
    return FuzzDriver.run(argc, argv, fuzzKeyBrokerMessages)
}
