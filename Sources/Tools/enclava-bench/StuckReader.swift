import EnclavaWire
import Foundation

/// A hostile client for `enclava-bench faults`: a raw TCP socket to the bridge that sends ttrpc `GetEvidence`
/// requests (each answered with kilobytes of evidence) as fast as the socket takes them and never reads an
/// answer. Bounded: it sends for a given time only, and at most ``maxFrames`` requests.
final class StuckReader: @unchecked Sendable {
    static let maxFrames = 1_000_000
    private let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchError("socket() failed: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            _ = Glibc.close(fd)
            throw BenchError("cannot connect to 127.0.0.1:\(port): errno \(errno)")
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    /// One ttrpc request frame: length, stream id, type 1 (request), flags 0, then the `ttrpc.Request`.
    static func frame(streamID: UInt32) throws -> [UInt8] {
        var evidence = Enclava_V1_GetEvidenceRequest()
        evidence.nonce = Data(repeating: UInt8(truncatingIfNeeded: streamID), count: 32)
        var request = Ttrpc_Request()
        request.service = EnclaveService.name
        request.method = EnclaveService.Method.getEvidence.rawValue
        request.payload = try evidence.serializedData()
        request.timeoutNano = 60_000_000_000
        let payload: [UInt8] = try request.serializedBytes()
        var bytes: [UInt8] = []
        for value in [UInt32(payload.count), streamID] {
            bytes += [UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8),
                      UInt8(truncatingIfNeeded: value)]
        }
        return bytes + [1, 0] + payload
    }

    /// Sends requests for `seconds` (never reading); returns how many frames and bytes went out, and whether
    /// the socket was blocked (the bridge stopped reading from it) when the time ran out.
    func send(for seconds: Double) -> (frames: Int, bytes: Int, blocked: Bool) {
        let end = Date().addingTimeInterval(seconds)
        var frames = 0, bytes = 0, blocked = false
        var pending: [UInt8] = []
        while Date() < end && frames < Self.maxFrames {
            if pending.isEmpty {
                guard let next = try? Self.frame(streamID: UInt32(2 * frames + 1)) else { break }
                pending = next
            }
            let written = pending.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written > 0 {
                bytes += written
                pending.removeFirst(written)
                if pending.isEmpty { frames += 1 }
                blocked = false
            } else if written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                blocked = true
                usleep(20_000)
            } else {
                break   // the bridge closed the connection
            }
        }
        return (frames, bytes, blocked)
    }

    /// Answer bytes waiting, unread, in this socket's receive buffer.
    func unreadBytes() -> Int {
        var count: Int32 = 0
        _ = ioctl(fd, UInt(FIONREAD), &count)
        return Int(count)
    }

    func close() { _ = Glibc.close(fd) }
}
