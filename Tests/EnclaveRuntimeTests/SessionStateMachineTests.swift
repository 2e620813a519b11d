import EnclavaCrypto
import EnclavaWire
import Testing
@testable import EnclaveRuntime

/// The session rules of DESIGN.md §3, without I/O: a client-side HPKE sender talks to the state machine.
@Suite struct SessionStateMachineTests {
    struct Client {
        var sender: HPKE.Sender
        let sessionID: [UInt8]

        mutating func seal(_ text: String, sequence: UInt64) throws -> [UInt8] {
            try sender.seal(Array(text.utf8), aad: SessionKeySchedule.requestAAD(sessionID: sessionID, sequence: sequence))
        }
    }

    let evidenceDigest = SHA2.sha384(Array("evidence blob".utf8))

    /// Issues evidence on `connection` (opening a session uses it up) and opens a session with it there.
    func openClient(_ machine: inout SessionStateMachine, evidenceDigest: [UInt8]? = nil,
                    connection: TTRPCConnectionID = .inProcess) throws -> Client {
        let digest = evidenceDigest ?? self.evidenceDigest
        machine.evidenceIssued(digest: digest, to: connection)
        let sender = try HPKE.Sender(recipientPublicKey: machine.publicKey,
                                     info: SessionKeySchedule.info(evidenceDigest: digest))
        let sessionID = try machine.openSession(enc: sender.encapsulatedKey, evidenceDigest: digest,
                                                connection: connection).get()
        return Client(sender: sender, sessionID: sessionID)
    }

    func plaintext(_ result: Result<SessionStateMachine.OpenedRequest, SessionRejection>) -> String? {
        guard case .success(let opened) = result else { return nil }
        return String(decoding: opened.plaintext.unsafeCopyToArray(), as: UTF8.self)
    }

    @Test func requestsInSequenceDecrypt() throws {
        var machine = SessionStateMachine(privateKey: X25519PrivateKey())
        machine.evidenceIssued(digest: evidenceDigest)
        var client = try openClient(&machine)
        #expect(client.sessionID.count == 16)
        for sequence in UInt64(0)..<3 {
            let ciphertext = try client.seal("request \(sequence)", sequence: sequence)
            let result = machine.openRequest(sessionID: client.sessionID, sequence: sequence, ciphertext: ciphertext)
            #expect(plaintext(result) == "request \(sequence)")
        }
        #expect(machine.nextSequence(of: client.sessionID) == 3)
    }

    @Test func unknownEvidenceIsRefused() throws {
        var machine = SessionStateMachine(privateKey: X25519PrivateKey())
        machine.evidenceIssued(digest: evidenceDigest)
        let other = SHA2.sha384(Array("other".utf8))
        let sender = try HPKE.Sender(recipientPublicKey: machine.publicKey, info: SessionKeySchedule.info(evidenceDigest: other))
        let result = machine.openSession(enc: sender.encapsulatedKey, evidenceDigest: other)
        #expect(result == .failure(.unknownEvidence))
        #expect(SessionRejection.unknownEvidence.rpcError.code == .failedPrecondition)
        #expect(SessionRejection.unknownEvidence.rpcError.reason == "UNKNOWN_EVIDENCE")
    }

    @Test(arguments: [0, 31, 33, 64])
    func encOfWrongLengthIsRefused(length: Int) {
        var machine = SessionStateMachine(privateKey: X25519PrivateKey())
        machine.evidenceIssued(digest: evidenceDigest)
        let result = machine.openSession(enc: [UInt8](repeating: 9, count: length), evidenceDigest: evidenceDigest)
        #expect(result == .failure(.invalidEncapsulatedKey))
    }

    @Test func replayAndReorderAreRefusedWithoutHarm() throws {
        var machine = SessionStateMachine(privateKey: X25519PrivateKey())
        machine.evidenceIssued(digest: evidenceDigest)
        var client = try openClient(&machine)
        let first = try client.seal("first", sequence: 0)
        let second = try client.seal("second", sequence: 1)
        // Reorder: 1 before 0.
        #expect(machine.openRequest(sessionID: client.sessionID, sequence: 1, ciphertext: second)
                == .failure(.sequenceOutOfOrder(expected: 0, received: 1)))
        #expect(plaintext(machine.openRequest(sessionID: client.sessionID, sequence: 0, ciphertext: first)) == "first")
        // Replay of 0.
        #expect(machine.openRequest(sessionID: client.sessionID, sequence: 0, ciphertext: first)
                == .failure(.sequenceOutOfOrder(expected: 1, received: 0)))
        // The session is still usable: 1 decrypts.
        #expect(plaintext(machine.openRequest(sessionID: client.sessionID, sequence: 1, ciphertext: second)) == "second")
        #expect(SessionRejection.sequenceOutOfOrder(expected: 1, received: 0).rpcError.reason == "SEQUENCE_OUT_OF_ORDER")
    }

    @Test func aCiphertextUnderAnotherSequenceDoesNotDecrypt() throws {
        var machine = SessionStateMachine(privateKey: X25519PrivateKey())
        machine.evidenceIssued(digest: evidenceDigest)
        var client = try openClient(&machine)
        // Sealed as sequence 0 but with the AAD of sequence 5: the AAD binds the sequence.
        let ciphertext = try client.sender.seal(Array("x".utf8),
                                                aad: SessionKeySchedule.requestAAD(sessionID: client.sessionID, sequence: 5))
        #expect(machine.openRequest(sessionID: client.sessionID, sequence: 0, ciphertext: ciphertext)
                == .failure(.requestDecryptionFailed))
    }

    @Test func aTamperedRequestPoisonsTheSessionForGood() throws {
        var machine = SessionStateMachine(privateKey: X25519PrivateKey())
        machine.evidenceIssued(digest: evidenceDigest)
        var client = try openClient(&machine)
        var tampered = try client.seal("first", sequence: 0)
        tampered[tampered.count / 2] ^= 0x01
        #expect(machine.openRequest(sessionID: client.sessionID, sequence: 0, ciphertext: tampered)
                == .failure(.requestDecryptionFailed))
        #expect(SessionRejection.requestDecryptionFailed.rpcError.code == .permissionDenied)
        // Even a correct request is refused afterwards, whatever its sequence.
        var fresh = try openClient(&machine)
        let valid = try client.seal("second", sequence: 1)
        #expect(machine.openRequest(sessionID: client.sessionID, sequence: 1, ciphertext: valid) == .failure(.sessionPoisoned))
        #expect(machine.openRequest(sessionID: client.sessionID, sequence: 0, ciphertext: valid) == .failure(.sessionPoisoned))
        #expect(SessionRejection.sessionPoisoned.rpcError.reason == "SESSION_POISONED")
        // Other sessions are unaffected.
        let ok = try fresh.seal("other", sequence: 0)
        #expect(plaintext(machine.openRequest(sessionID: fresh.sessionID, sequence: 0, ciphertext: ok)) == "other")
    }

    @Test func unknownSessionIsNotFound() {
        var machine = SessionStateMachine(privateKey: X25519PrivateKey())
        let result = machine.openRequest(sessionID: [UInt8](repeating: 1, count: 16), sequence: 0, ciphertext: [1, 2, 3])
        #expect(result == .failure(.sessionNotFound))
        #expect(SessionRejection.sessionNotFound.rpcError.code == .notFound)
    }

    @Test func responsesUseTheSameScheduleOnBothSides() throws {
        var machine = SessionStateMachine(privateKey: X25519PrivateKey())
        machine.evidenceIssued(digest: evidenceDigest)
        var client = try openClient(&machine)
        let clientSchedule = try SessionKeySchedule(sender: client.sender)
        let result = machine.openRequest(sessionID: client.sessionID, sequence: 0, ciphertext: try client.seal("q", sequence: 0))
        let opened = try result.get()
        let sealed = try opened.schedule.sealResponse(SecureBytes(Array("answer".utf8)), sessionID: client.sessionID, sequence: 0)
        let answer = try clientSchedule.openResponse(sealed, sessionID: client.sessionID, sequence: 0)
        #expect(answer.unsafeCopyToArray() == Array("answer".utf8))
        // The response of sequence 0 does not open as sequence 1.
        #expect(throws: CryptoError.self) { _ = try clientSchedule.openResponse(sealed, sessionID: client.sessionID, sequence: 1) }
    }
}

extension Result where Success == SessionStateMachine.OpenedRequest, Failure == SessionRejection {
    static func == (lhs: Self, rhs: Self) -> Bool {
        switch (lhs, rhs) {
        case (.failure(let a), .failure(let b)): a == b
        default: false
        }
    }
}
