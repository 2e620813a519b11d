import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NIOConcurrencyHelpers

/// An AF_VSOCK listening socket on the host that admits connections from **one** guest context ID only: the
/// attached enclave's. Any other guest on the host (another VM, another enclave) that dials the port is closed at
/// once and logged, before a byte is read (the enclave-initiated side of issue 11: the guest dials the host, CID 2,
/// on a port the operator chose).
///
/// SwiftNIO does not expose a vsock peer's context ID, so this accepts on its own thread (`accept` returns the
/// peer's `sockaddr_vm`) and hands each admitted descriptor to `admit`.
final class VsockAcceptor: Sendable {
    /// The port listened on.
    let port: UInt32
    /// The only guest context ID admitted.
    let peerCID: UInt32
    private let descriptor: Int32
    private let stopped = NIOLockedValueBox(false)

    /// Binds `port` on any local CID and starts accepting.
    /// - Parameters:
    ///   - admit: called on the accept thread with each descriptor whose peer is `peerCID`; it owns the descriptor.
    ///   - refuse: called with the peer CID of each connection closed because it came from another guest.
    /// - Throws: ``HostBridgeError`` `bindFailed` naming the port and the kernel's answer (no vsock transport here).
    init(port: UInt32, peerCID: UInt32, admit: @escaping @Sendable (Int32) -> Void,
         refuse: @escaping @Sendable (UInt32) -> Void) throws {
        let socketType = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let fd = socket(VsockSocketAddress.addressFamily, socketType, 0)
        guard fd >= 0 else {
            throw HostBridgeError(.bindFailed, "cannot open an AF_VSOCK socket for the enclave's key broker connections: "
                                  + "\(String(cString: strerror(errno))) (this host has no vsock transport)")
        }
        var address = VsockSocketAddress(cid: UInt32.max, port: port)   // VMADDR_CID_ANY
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<VsockSocketAddress>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            let reason = String(cString: strerror(errno))
            _ = Glibc.close(fd)
            throw HostBridgeError(.bindFailed, "cannot listen on vsock port \(port) for the enclave's key broker connections: \(reason)")
        }
        self.port = port
        self.peerCID = peerCID
        self.descriptor = fd
        let thread = Thread { [self] in self.acceptLoop(admit: admit, refuse: refuse) }
        thread.start()
    }

    /// Stops accepting within a poll interval (connections already admitted are the caller's). The accept thread
    /// closes the socket as it leaves, so the descriptor number is never reused under it.
    func close() {
        stopped.withLockedValue { $0 = true }
        shutdown(descriptor, Int32(SHUT_RDWR))
    }

    private func acceptLoop(admit: @Sendable (Int32) -> Void, refuse: @Sendable (UInt32) -> Void) {
        defer { _ = Glibc.close(descriptor) }
        while !stopped.withLockedValue({ $0 }) {
            // A bounded wait: a blocked accept(2) on a vsock socket is not woken by shutdown(2).
            var ready = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&ready, 1, 200) > 0 else { continue }
            var peer = VsockSocketAddress(cid: 0, port: 0)
            var length = socklen_t(MemoryLayout<VsockSocketAddress>.size)
            let client = withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(descriptor, $0, &length) }
            }
            if client < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return   // closed (or the socket failed): stop
            }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)   // (accept4 is not in the C library's Swift module)
            guard Self.admits(peer: peer, length: length, expected: peerCID) else {
                _ = Glibc.close(client)
                refuse(peer.cid)
                continue
            }
            admit(client)
        }
    }

    /// Whether an accepted peer address is the expected guest's (a short or foreign-family address is not).
    static func admits(peer: VsockSocketAddress, length: socklen_t, expected: UInt32) -> Bool {
        length >= socklen_t(MemoryLayout<VsockSocketAddress>.size) && peer.family == UInt16(VsockSocketAddress.addressFamily)
            && peer.cid == expected
    }
}

/// `struct sockaddr_vm` of `<linux/vm_sockets.h>` (16 bytes), which the C library headers do not carry.
struct VsockSocketAddress {
    static let addressFamily: Int32 = 40   // AF_VSOCK
    var family: UInt16
    var reserved: UInt16 = 0
    var port: UInt32
    var cid: UInt32
    var flags: UInt8 = 0
    var zero: (UInt8, UInt8, UInt8) = (0, 0, 0)

    init(cid: UInt32, port: UInt32) {
        self.family = UInt16(Self.addressFamily)
        self.port = port
        self.cid = cid
    }
}
