import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A plain blocking TCP socket to 127.0.0.1, for sending hostile bytes that no well-behaved client would.
public final class RawSocket {
    private let fd: Int32

    // The descriptor is stored only once connected: a class whose initializer throws after every stored
    // property is set still runs `deinit`, which would close the descriptor a second time — by then possibly
    // reused by another thread of the test process (a NIO socket), which then sees ECONNRESET.

    /// Connects to 127.0.0.1:`port`.
    public init(port: Int) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RawSocketError("socket() failed: errno \(errno)") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let error = errno
            close(fd)
            throw RawSocketError("connect to port \(port) failed: errno \(error)")
        }
        self.fd = fd
    }

    /// Connects to a Unix socket path.
    public init(unixPath: String) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RawSocketError("socket() failed: errno \(errno)") }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(unixPath.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { close(fd); throw RawSocketError("path too long") }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            let error = errno
            close(fd)
            throw RawSocketError("connect to \(unixPath) failed: errno \(error)")
        }
        self.fd = fd
    }

    deinit { close(fd) }

    /// Whether something accepts TCP connections on 127.0.0.1:`port`.
    public static func canConnect(port: Int) -> Bool { (try? RawSocket(port: port)) != nil }

    /// Sends all bytes (ignores EPIPE: the peer may already have closed).
    public func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { if errno == EPIPE || errno == ECONNRESET { return }; throw RawSocketError("send failed: errno \(errno)") }
            offset += n
        }
    }

    /// Reads until at least `count` bytes arrived, the peer closed, or `timeout` seconds passed.
    public func receive(atLeast count: Int, timeout: TimeInterval) throws -> [UInt8] {
        var result: [UInt8] = []
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while result.count < count && Date() < deadline {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, 100) <= 0 { continue }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            result += buffer[0..<n]
        }
        // Give a response frame's payload a moment to follow its header.
        if result.count >= 4 {
            let length = Int(result[0]) << 24 | Int(result[1]) << 16 | Int(result[2]) << 8 | Int(result[3])
            while result.count < 10 + length && Date() < deadline {
                var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                if poll(&pfd, 1, 100) <= 0 { continue }
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n <= 0 { break }
                result += buffer[0..<n]
            }
        }
        return result
    }

    /// Whether the peer closes the connection within `timeout` seconds (reads and drops anything it sends).
    public func waitForClose(timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, 100) <= 0 { continue }
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return true }
        }
        return false
    }

    /// A ttrpc frame header (DESIGN.md §2): u32 BE length, u32 BE stream id, type, flags.
    public static func frameHeader(length: UInt32, streamID: UInt32, type: UInt8, flags: UInt8 = 0) -> [UInt8] {
        withUnsafeBytes(of: length.bigEndian, Array.init) + withUnsafeBytes(of: streamID.bigEndian, Array.init) + [type, flags]
    }
}

/// A socket failure in a test.
public struct RawSocketError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
