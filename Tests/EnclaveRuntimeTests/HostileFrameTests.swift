#if canImport(Glibc)
import Glibc
#endif
import EnclavaClient
import EnclavaWire
import Foundation
import Testing
@testable import EnclaveRuntime

/// A blocking Unix-socket client that writes raw bytes, for frames no well-behaved client would send.
final class RawUnixSocket {
    let fd: Int32

    init(path: String) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[index] = byte }
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else { close(fd); throw POSIXError(.ECONNREFUSED) }   // fd not stored: deinit must not close it again
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        self.fd = fd
    }

    deinit { close(fd) }

    func write(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    /// Reads exactly `count` bytes, or fewer when the peer closes.
    func read(_ count: Int) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let n = result[offset...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            offset += n
        }
        return Array(result.prefix(offset))
    }
}

func frameHeader(length: UInt32, streamID: UInt32, type: UInt8, flags: UInt8 = 0) -> [UInt8] {
    withUnsafeBytes(of: length.bigEndian) { Array($0) } + withUnsafeBytes(of: streamID.bigEndian) { Array($0) } + [type, flags]
}

/// Oversized and malformed frames sent straight to the runtime are refused without a crash, and other
/// clients keep being served.
@Suite(.serialized) struct HostileFrameTests {
    @Test func oversizedAndGarbageFramesDoNotDisturbOtherClients() async throws {
        let world = try EndToEndWorld.shared.get()
        let (runtime, endpoint) = try await world.startRuntime()
        guard case .unix(let path) = endpoint else { return }
        let session = try await ConfidentialSession.connect(to: endpoint, policy: world.policy(), verifier: world.verifier)
        let golden = try Golden.load()

        // An oversized request (limit: the manifest's 4 MiB) is answered RESOURCE_EXHAUSTED after its
        // payload is discarded.
        let oversized = try RawUnixSocket(path: path)
        let length = 4 << 20 + 1
        oversized.write(frameHeader(length: UInt32(length), streamID: 1, type: 1) + [UInt8](repeating: 0xEE, count: length))
        let header = oversized.read(10)
        #expect(header.count == 10)
        if header.count == 10 {
            let payloadLength = Int(header[0]) << 24 | Int(header[1]) << 16 | Int(header[2]) << 8 | Int(header[3])
            #expect(header[8] == 2)   // a response
            let response = try Ttrpc_Response(serializedBytes: oversized.read(payloadLength))
            #expect(response.status.code == RPCCode.resourceExhausted.rawValue)
        }

        // Garbage: an unknown frame type, then a request whose payload is not a ttrpc.Request.
        let garbage = try RawUnixSocket(path: path)
        garbage.write(frameHeader(length: 4, streamID: 1, type: 0x7F) + [1, 2, 3, 4])
        let junk = try RawUnixSocket(path: path)
        junk.write(frameHeader(length: 6, streamID: 3, type: 1) + [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])

        // The well-behaved client is still served, and so is a new one.
        _ = try await session.infer(golden.inputs)
        let other = try await ConfidentialSession.connect(to: endpoint, policy: world.policy(), verifier: world.verifier)
        _ = try await other.infer(golden.inputs)
        await other.close()
        await session.close()
        await runtime.shutdown()
    }
}
