import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A test double for a VMM's hybrid vsock device (these machines have no vsock loopback), following
/// Firecracker's documented behaviour (docs/vsock.md):
/// * the host connects to the VMM's Unix socket and writes `CONNECT <port>\n` (the keyword in any case);
/// * when the guest listens on that port the VMM answers `OK <host_port>\n`, with a host port counting up from
///   2^30, and then relays bytes both ways; when it does not, the VMM closes the connection without a word;
/// * a line longer than 32 bytes, or anything else, is closed without a word;
/// * beyond ``maxConnections`` live connections a new one is closed without a word;
/// * a connection the guest makes to the host (CID 2) on port P is delivered as a connection to `<path>_<P>`;
///   when nothing listens there the guest's connection is closed (``dialHost(port:fromGuestSocket:)``).
///
/// The "guest" is a process that listens on a Unix socket: ``listen(port:unixPath:)`` says which guest port
/// that socket stands for (a guest that has not started listening yet is a path that does not exist yet).
public final class FakeHybridVsockMuxer: @unchecked Sendable {
    /// The VMM's Unix socket (the `uds_path` of Firecracker's vsock device).
    public let path: String
    /// Live relayed connections allowed at once.
    public let maxConnections: Int

    private let listener: Int32
    private let state = Mutex<State>(State())
    private struct State {
        var guestPorts: [UInt32: String] = [:]
        var live = 0
        var nextHostPort: UInt32 = 1 << 30
        var connectLines: [String] = []
        var guestDialers: [Int32] = []
        var stopped = false
    }

    /// Listens on `path`.
    public init(path: String, maxConnections: Int = 64) throws {
        self.path = path
        self.maxConnections = maxConnections
        unlink(path)
        listener = try Self.unixSocket(path: path, listen: true)
        let accepting = Thread { [self] in acceptLoop() }
        accepting.start()
    }

    deinit { stop() }

    /// Declares that the guest listens on `port` at `unixPath`.
    public func listen(port: UInt32, unixPath: String) {
        state.withLock { $0.guestPorts[port] = unixPath }
    }

    /// Lets the "guest" dial host port `port`: each connection to the Unix socket `guestSocket` (created here)
    /// stands for the guest connecting to vsock CID 2, port `port`, and is relayed to `<path>_<port>` on the host,
    /// as Firecracker delivers it; when nothing listens there, the guest's connection is closed.
    public func dialHost(port: UInt32, fromGuestSocket guestSocket: String) throws {
        unlink(guestSocket)
        let listener = try Self.unixSocket(path: guestSocket, listen: true)
        state.withLock { $0.guestDialers.append(listener) }
        let hostPath = "\(path)_\(port)"
        Thread {
            while true {
                let guest = accept(listener, nil, nil)
                if guest < 0 {
                    if errno == EINTR { continue }
                    return
                }
                Thread {
                    guard let host = try? Self.unixSocket(path: hostPath, listen: false) else { close(guest); return }
                    Self.relay(guest, host)
                    close(guest)
                    close(host)
                }.start()
            }
        }.start()
    }

    /// Every `CONNECT` line received, as sent (for tests of the client's side).
    public var connectLines: [String] { state.withLock { $0.connectLines } }

    /// Relayed connections open now.
    public var liveConnections: Int { state.withLock { $0.live } }

    /// Stops accepting and removes the socket (relays already open finish on their own).
    public func stop() {
        let wasStopped = state.withLock { state in
            defer { state.stopped = true }
            return state.stopped
        }
        guard !wasStopped else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        unlink(path)
        for dialer in state.withLock({ $0.guestDialers }) {
            shutdown(dialer, Int32(SHUT_RDWR))
            close(dialer)
        }
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            let admitted = state.withLock { state -> Bool in
                guard !state.stopped, state.live < maxConnections else { return false }
                state.live += 1
                return true
            }
            guard admitted else { close(client); continue }
            Thread { [self] in
                serve(client)
                state.withLock { $0.live -= 1 }
            }.start()
        }
    }

    private func serve(_ client: Int32) {
        guard let line = Self.readLine(client, max: 32) else { close(client); return }
        state.withLock { $0.connectLines.append(line) }
        let words = line.split(separator: " ", omittingEmptySubsequences: false)
        guard words.count == 2, words[0].uppercased() == "CONNECT", let port = UInt32(words[1]),
              let guestPath = state.withLock({ $0.guestPorts[port] }),
              let guest = try? Self.unixSocket(path: guestPath, listen: false) else {
            close(client)
            return
        }
        let hostPort = state.withLock { state -> UInt32 in
            defer { state.nextHostPort = state.nextHostPort == UInt32(1 << 31) - 1 ? 1 << 30 : state.nextHostPort + 1 }
            return state.nextHostPort
        }
        guard Self.writeAll(client, Array("OK \(hostPort)\n".utf8)) else { close(client); close(guest); return }
        Self.relay(client, guest)
        close(client)
        close(guest)
    }

    /// Reads one line of at most `max` bytes (newline included) a byte at a time, so that nothing after it
    /// is consumed; nil when the peer closes first or the line is too long.
    static func readLine(_ fd: Int32, max: Int) -> String? {
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while bytes.count < max {
            let n = read(fd, &byte, 1)
            if n < 0 && errno == EINTR { continue }
            guard n == 1 else { return nil }
            if byte == UInt8(ascii: "\n") { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(byte)
        }
        return nil
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            offset += n
        }
        return true
    }

    /// Copies both ways until either side closes, one thread per direction (a single thread copying both ways
    /// with blocking writes deadlocks when both sides apply back-pressure).
    static func relay(_ a: Int32, _ b: Int32) {
        let back = Thread { copyOneWay(from: b, to: a) }
        back.start()
        copyOneWay(from: a, to: b)
        while !back.isFinished { usleep(1000) }
    }

    private static func copyOneWay(from source: Int32, to destination: Int32) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(source, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0, writeAll(destination, Array(buffer[0..<n])) else { break }
        }
        shutdown(source, Int32(SHUT_RDWR))
        shutdown(destination, Int32(SHUT_RDWR))
    }

    /// A listening Unix socket at `path` (for other stand-ins, e.g. something that is not a VMM).
    public static func listeningSocket(path: String) throws -> Int32 {
        unlink(path)
        return try unixSocket(path: path, listen: true)
    }

    static func unixSocket(path: String, listen shouldListen: Bool) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RawSocketError("socket() failed: errno \(errno)") }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            close(fd)
            throw RawSocketError("path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                shouldListen ? bind(fd, pointer, socklen_t(MemoryLayout<sockaddr_un>.size))
                    : connect(fd, pointer, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0, !shouldListen || Glibc.listen(fd, 64) == 0 else {
            let error = errno
            close(fd)
            throw RawSocketError("\(shouldListen ? "listen on" : "connect to") \(path) failed: errno \(error)")
        }
        return fd
    }
}
