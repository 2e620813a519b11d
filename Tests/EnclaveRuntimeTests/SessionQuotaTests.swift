import EnclavaCrypto
import EnclavaWire
import Testing
@testable import EnclaveRuntime

/// Sessions and issued evidence belong to the connection they were created on; quotas and caps refuse the
/// new entry and never evict another connection's (DESIGN.md §2). No I/O: see ConnectionBindingTests for
/// the same over real sockets.
@Suite struct SessionQuotaTests {
    let helper = SessionStateMachineTests()
    let a = TTRPCConnectionID.next()
    let b = TTRPCConnectionID.next()
    let c = TTRPCConnectionID.next()

    func decrypts(_ machine: inout SessionStateMachine, _ client: inout SessionStateMachineTests.Client, sequence: UInt64,
                  on connection: TTRPCConnectionID) throws -> Bool {
        let ciphertext = try client.seal("q\(sequence)", sequence: sequence)
        return helper.plaintext(machine.openRequest(sessionID: client.sessionID, sequence: sequence, ciphertext: ciphertext,
                                                    connection: connection)) == "q\(sequence)"
    }

    @Test func aSessionAnswersOnlyOnItsConnectionAndEndsWithIt() throws {
        var machine = SessionStateMachine(privateKey: X25519PrivateKey())
        var onA = try helper.openClient(&machine, connection: a)
        var onB = try helper.openClient(&machine, evidenceDigest: SHA2.sha384([2]), connection: b)
        // A's session id presented on B is unknown there, and the attempt costs A nothing.
        let stolen = try onA.seal("x", sequence: 0)
        #expect(machine.openRequest(sessionID: onA.sessionID, sequence: 0, ciphertext: stolen, connection: b)
                == .failure(.sessionNotFound))
        #expect(machine.nextSequence(of: onA.sessionID, connection: b) == nil)
        #expect(helper.plaintext(machine.openRequest(sessionID: onA.sessionID, sequence: 0, ciphertext: stolen,
                                                     connection: a)) == "x")
        // Closing A ends A's sessions only.
        machine.connectionClosed(a)
        #expect(machine.sessionCount == 1 && machine.sessionCount(of: a) == 0)
        #expect(machine.openRequest(sessionID: onA.sessionID, sequence: 1, ciphertext: try onA.seal("y", sequence: 1),
                                    connection: a) == .failure(.sessionNotFound))
        #expect(try decrypts(&machine, &onB, sequence: 0, on: b))
    }

    @Test func evidenceOpensOneSessionOnTheConnectionItWasIssuedOn() throws {
        var machine = SessionStateMachine(privateKey: X25519PrivateKey())
        let digest = SHA2.sha384(Array("issued on a".utf8))
        machine.evidenceIssued(digest: digest, to: a)
        let sender = try HPKE.Sender(recipientPublicKey: machine.publicKey, info: SessionKeySchedule.info(evidenceDigest: digest))
        #expect(machine.openSession(enc: sender.encapsulatedKey, evidenceDigest: digest, connection: b) == .failure(.unknownEvidence))
        #expect(machine.hasIssued(evidenceDigest: digest, to: a))
        #expect(throws: Never.self) {
            _ = try machine.openSession(enc: sender.encapsulatedKey, evidenceDigest: digest, connection: a).get()
        }
        // Used up: a second session needs fresh evidence.
        #expect(!machine.hasIssued(evidenceDigest: digest, to: a))
        #expect(machine.openSession(enc: sender.encapsulatedKey, evidenceDigest: digest, connection: a) == .failure(.unknownEvidence))
        #expect(machine.issuedEvidenceCount == 0)
    }

    @Test func aConnectionOverItsSessionQuotaIsRefusedWhileOthersKeepTheirs() throws {
        var machine = SessionStateMachine(privateKey: X25519PrivateKey(), limits: .init(maxSessionsPerConnection: 2))
        var first = try helper.openClient(&machine, evidenceDigest: SHA2.sha384([1]), connection: a)
        _ = try helper.openClient(&machine, evidenceDigest: SHA2.sha384([2]), connection: a)
        var onB = try helper.openClient(&machine, evidenceDigest: SHA2.sha384([3]), connection: b)
        let overQuota = #expect(throws: SessionRejection.self) {
            _ = try helper.openClient(&machine, evidenceDigest: SHA2.sha384([4]), connection: a)
        }
        #expect(overQuota == .sessionQuotaExceeded(limit: 2))
        #expect(overQuota?.rpcError.code == .resourceExhausted && overQuota?.rpcError.reason == "SESSION_QUOTA_EXCEEDED")
        // The refused open left its evidence unused and every existing session working.
        #expect(machine.hasIssued(evidenceDigest: SHA2.sha384([4]), to: a))
        #expect(machine.sessionCount(of: a) == 2 && machine.sessionCount == 3)
        #expect(try decrypts(&machine, &first, sequence: 0, on: a))
        #expect(try decrypts(&machine, &onB, sequence: 0, on: b))
    }

    @Test func theGlobalSessionCapRefusesTheNewOneAndEvictsNothing() throws {
        var machine = SessionStateMachine(privateKey: X25519PrivateKey(), limits: .init(maxSessions: 2))
        var onA = try helper.openClient(&machine, evidenceDigest: SHA2.sha384([1]), connection: a)
        var onB = try helper.openClient(&machine, evidenceDigest: SHA2.sha384([2]), connection: b)
        let full = #expect(throws: SessionRejection.self) {
            _ = try helper.openClient(&machine, evidenceDigest: SHA2.sha384([3]), connection: c)
        }
        #expect(full == .sessionTableFull(limit: 2))
        #expect(full?.rpcError.reason == "SESSION_TABLE_FULL" && full?.rpcError.code == .resourceExhausted)
        #expect(try decrypts(&machine, &onA, sequence: 0, on: a))
        #expect(try decrypts(&machine, &onB, sequence: 0, on: b))
        machine.connectionClosed(b)
        #expect(throws: Never.self) { _ = try helper.openClient(&machine, evidenceDigest: SHA2.sha384([3]), connection: c) }
    }

    @Test func anEvidenceFloodHitsItsOwnQuotaAndForgetsNothingElse() throws {
        var machine = SessionStateMachine(privateKey: X25519PrivateKey(),
                                          limits: .init(maxIssuedEvidence: 3, maxIssuedEvidencePerConnection: 2))
        let mine = SHA2.sha384(Array("a's evidence".utf8))
        #expect(machine.evidenceIssued(digest: mine, to: a) == nil)
        // B floods: two are remembered, the rest refused (its quota), and A's evidence is untouched.
        var refusals: [SessionRejection] = []
        for index in 0..<100 {
            if let refusal = machine.evidenceIssued(digest: SHA2.sha384([UInt8(index)]), to: b) { refusals.append(refusal) }
        }
        #expect(refusals.count == 98 && refusals.allSatisfy { $0 == .evidenceQuotaExceeded(limit: 2) })
        #expect(SessionRejection.evidenceQuotaExceeded(limit: 2).rpcError.reason == "EVIDENCE_QUOTA_EXCEEDED")
        #expect(machine.evidenceRefusal(for: b) == .evidenceQuotaExceeded(limit: 2))
        // C hits the global cap (3), which refuses rather than forgets.
        #expect(machine.evidenceIssued(digest: SHA2.sha384([200]), to: c) == .evidenceTableFull(limit: 3))
        #expect(SessionRejection.evidenceTableFull(limit: 3).rpcError.code == .resourceExhausted)
        #expect(machine.hasIssued(evidenceDigest: mine, to: a))
        #expect(throws: Never.self) { _ = try helper.openClient(&machine, evidenceDigest: mine, connection: a) }
        // B leaves: its evidence is forgotten, and C may have some.
        machine.connectionClosed(b)
        #expect(machine.issuedEvidenceCount == 0)
        #expect(machine.evidenceIssued(digest: SHA2.sha384([200]), to: c) == nil)
    }
}
