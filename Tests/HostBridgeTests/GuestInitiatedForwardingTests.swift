#if canImport(Glibc)
import Glibc
#endif
import EnclavaWire
import Foundation
@testable import HostBridge
import Logging
import Testing

/// Issue 11: an attached enclave's own connections (to its key broker) arrive where its VMM delivers them, and only
/// the attached guest's are admitted.
@Suite struct GuestInitiatedForwardingTests {
    @Test func theForwardingAddressFollowsTheEnclaveAddress() throws {
        #expect(try EnclaveSupervisor.guestInitiatedListen(for: .hvsock(path: "/run/fc/v.sock", port: 1024), port: 1025)
                == .unix(path: "/run/fc/v.sock_1025"))
        #expect(try EnclaveSupervisor.guestInitiatedListen(for: .unix("/run/e.sock"), port: 7000) == .unix(path: "/run/e.sock_7000"))
        #expect(try EnclaveSupervisor.guestInitiatedListen(for: .vsock(cid: 16, port: 1024), port: 1025)
                == .vsock(port: 1025, peerCID: 16))
        let tcp = #expect(throws: HostBridgeError.self) {
            try EnclaveSupervisor.guestInitiatedListen(for: .tcp(host: "127.0.0.1", port: 1), port: 1025)
        }
        #expect(tcp?.code == .invalidConfiguration)
    }

    /// A hostile neighbour: another guest on the same host dialing the forwarding port is not the attached enclave.
    @Test func onlyTheAttachedGuestsContextIDIsAdmitted() {
        let size = socklen_t(MemoryLayout<VsockSocketAddress>.size)
        #expect(VsockAcceptor.admits(peer: VsockSocketAddress(cid: 16, port: 999), length: size, expected: 16))
        #expect(!VsockAcceptor.admits(peer: VsockSocketAddress(cid: 17, port: 999), length: size, expected: 16))
        #expect(!VsockAcceptor.admits(peer: VsockSocketAddress(cid: 16, port: 999), length: size - 4, expected: 16))
        var foreign = VsockSocketAddress(cid: 16, port: 999)
        foreign.family = UInt16(AF_UNIX)
        #expect(!VsockAcceptor.admits(peer: foreign, length: size, expected: 16))
        #expect(size == 16)
    }

    static let vsockBindable: Bool = {
        let fd = socket(AF_VSOCK, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        close(fd)
        return true
    }()

    /// The vsock listen path where the kernel has a vsock transport (never connected to: no vsock loopback here,
    /// and CID 0–2 is this machine's own hypervisor). The port is held while the forwarder runs.
    @Test(.enabled(if: vsockBindable, "this kernel has no AF_VSOCK transport"))
    func aVsockForwarderHoldsItsPortUntilClosed() async throws {
        let port = UInt32.random(in: 20_000...60_000)
        let forwarder: KeyBrokerForwarder
        do {
            forwarder = try await KeyBrokerForwarder.start(listen: .vsock(port: port, peerCID: 16), host: "127.0.0.1", port: 1,
                                                           logger: Logger(label: "test.forwarder"))
        } catch let error as HostBridgeError {
            // The socket opens but no transport lets it bind: the error says so, and the test cannot go further.
            #expect(error.code == .bindFailed && error.message.contains("vsock port \(port)"), "\(error)")
            return
        }
        #expect(forwarder.socketPath == nil)
        let second = socket(AF_VSOCK, Int32(SOCK_STREAM.rawValue), 0)
        var address = VsockSocketAddress(cid: UInt32.max, port: port)
        let taken = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(second, $0, 16) } }
        #expect(taken == -1 && errno == EADDRINUSE)
        close(second)
        await forwarder.close()
    }
}
