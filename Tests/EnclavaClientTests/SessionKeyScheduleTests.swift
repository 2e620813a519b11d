import EnclavaCrypto
import Testing

/// The byte layouts of DESIGN.md §3, step 4–5, checked against the shared key schedule.
@Suite struct SessionKeyScheduleTests {
    @Test func labelsAreTheDocumentedOnes() {
        #expect(EnclavaProtocolLabels.evidence == "enclava-evidence-v1")
        #expect(EnclavaProtocolLabels.sessionInfoPrefix == "enclava/v1 session")
        #expect(EnclavaProtocolLabels.responseKey == "enclava/v1 response key")
        #expect(EnclavaProtocolLabels.responseNonce == "enclava/v1 response nonce")
        #expect(EnclavaProtocolLabels.dekSealingPurpose == "enclava/v1 image dek")
    }

    @Test func infoAndAADLayouts() {
        let blob: [UInt8] = [1, 2, 3]
        #expect(SessionKeySchedule.info(evidenceBlob: blob) == Array("enclava/v1 session".utf8) + SHA2.sha384(blob))
        let id = [UInt8](repeating: 7, count: 16)
        #expect(SessionKeySchedule.requestAAD(sessionID: id, sequence: 0x0102_0304_0506_0708)
                == id + [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(SessionKeySchedule.responseAAD(sessionID: id, sequence: 1) == id + [0, 0, 0, 0, 0, 0, 0, 1])
    }

    @Test func responseKeysComeFromTheHPKEExporterAndNoncesXorTheSequence() throws {
        let recipientKey = X25519PrivateKey()
        let info = SessionKeySchedule.info(evidenceBlob: [9])
        let sender = try HPKE.Sender(recipientPublicKey: recipientKey.publicKey, info: info)
        let recipient = try HPKE.Recipient(privateKey: recipientKey, encapsulatedKey: sender.encapsulatedKey, info: info)
        let client = try SessionKeySchedule(sender: sender)
        let enclave = try SessionKeySchedule(recipient: recipient)
        #expect(client.responseKey == enclave.responseKey)
        #expect(client.responseKey == (try sender.export(context: Array("enclava/v1 response key".utf8), length: 32)))
        let base = try sender.export(context: Array("enclava/v1 response nonce".utf8), length: 12).unsafeCopyToArray()
        #expect(client.responseNonce(sequence: 0) == base)
        let sequence: UInt64 = 0x0A0B_0C0D_0E0F_1011
        let xored = zip(client.responseNonce(sequence: sequence), base).map { $0 ^ $1 }
        #expect(xored == [0, 0, 0, 0] + SessionKeySchedule.bigEndianBytes(sequence))
        let sealed = try enclave.sealResponse(SecureBytes([42]), sessionID: [1], sequence: 3)
        #expect(try client.openResponse(sealed, sessionID: [1], sequence: 3).unsafeCopyToArray() == [42])
        #expect(throws: CryptoError.self) { _ = try client.openResponse(sealed, sessionID: [2], sequence: 3) }
    }
}
