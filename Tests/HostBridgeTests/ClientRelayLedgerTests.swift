import EnclavaWire
import Testing
@testable import HostBridge

/// The relay's per-connection rules without I/O (ClientLimitTests shows them over real sockets).
@Suite struct ClientRelayLedgerTests {
    @Test(arguments: EnclaveService.Method.allCases)
    func onlyClientCallsAreRelayed(method: EnclaveService.Method) {
        var ledger = ClientRelayLedger(maxInFlightBytes: 1000)
        let refusal = ledger.admit(streamID: 1, service: EnclaveService.name, method: method.rawValue, bytes: 10, draining: false)
        switch method {
        case .shutdown:
            #expect(refusal?.code == .permissionDenied && refusal?.reason == BridgeReason.hostOnlyMethod)
            #expect(ledger.inFlight.isEmpty)
        case .getEvidence, .openSession, .infer, .provisionKey, .health:
            #expect(refusal == nil)
            #expect(ledger.inFlight == [1: 10])
        }
    }

    @Test(arguments: [("enclava.v1.Enclave", "Reboot"), ("enclava.v1.Enclave", "shutdown"), ("enclava.v2.Enclave", "Infer"),
                      ("", "Health"), ("grpc.health.v1.Health", "Check"),
                      ("enclava.v1.HostControl", "TakeSealedState"), ("enclava.v1.HostControl", "OfferSealedState")])
    func anythingElseIsNotRelayed(service: String, method: String) {
        var ledger = ClientRelayLedger(maxInFlightBytes: 1000)
        let refusal = ledger.admit(streamID: 1, service: service, method: method, bytes: 10, draining: false)
        #expect(refusal?.code == .unimplemented && refusal?.reason == BridgeReason.methodNotRelayed)
        #expect(ledger.inFlightBytes == 0)
    }

    @Test func theBudgetAdmitsUpToItsLastByteAndFreesOnAnswers() {
        var ledger = ClientRelayLedger(maxInFlightBytes: 100)
        let first = ledger.admit(streamID: 1, service: EnclaveService.name, method: "Infer", bytes: 60, draining: false)
        #expect(first == nil)
        let over = ledger.admit(streamID: 3, service: EnclaveService.name, method: "Infer", bytes: 41, draining: false)
        #expect(over?.code == .resourceExhausted && over?.reason == BridgeReason.inFlightBytesExceeded)
        #expect(over?.metadata == ["in_flight_bytes": "60", "limit": "100"])
        let fits = ledger.admit(streamID: 3, service: EnclaveService.name, method: "Infer", bytes: 40, draining: false)
        #expect(fits == nil)
        #expect(ledger.inFlightBytes == 100)
        let released = ledger.release(1)
        let again = ledger.release(1)   // answered once only
        #expect(released && !again)
        let freed = ledger.admit(streamID: 5, service: EnclaveService.name, method: "Infer", bytes: 60, draining: false)
        #expect(freed == nil)
        let dropped = ledger.releaseAll()
        #expect(dropped == 2 && ledger.inFlightBytes == 0 && ledger.inFlight.isEmpty)
    }

    @Test func aDuplicateStreamIsRefusedWithoutTouchingTheOriginal() {
        var ledger = ClientRelayLedger(maxInFlightBytes: 100)
        let original = ledger.admit(streamID: 7, service: EnclaveService.name, method: "Infer", bytes: 30, draining: false)
        #expect(original == nil)
        let duplicate = ledger.admit(streamID: 7, service: EnclaveService.name, method: "Infer", bytes: 5, draining: false)
        #expect(duplicate?.code == .invalidArgument && duplicate?.reason == BridgeReason.duplicateStreamID)
        #expect(ledger.inFlight == [7: 30])
    }

    @Test func drainingRefusesEverythingFirst() {
        var ledger = ClientRelayLedger(maxInFlightBytes: 100)
        let refusal = ledger.admit(streamID: 1, service: EnclaveService.name, method: "Shutdown", bytes: 10, draining: true)
        #expect(refusal?.code == .unavailable && refusal?.reason == BridgeReason.shuttingDown)
    }
}
