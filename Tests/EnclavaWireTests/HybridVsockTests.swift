import EnclavaTesting
import EnclavaWire
import Foundation
import NIOPosix
import SwiftProtobuf
import Synchronization
import Testing

/// Issue 11: ttrpc through a VMM's hybrid vsock socket, against a fake VMM that behaves as Firecracker
/// documents (these machines have no vsock loopback).
@Suite(.timeLimit(.minutes(2))) struct HybridVsockTests {
    static func health(_ client: TTRPCClient) async throws -> Enclava_V1_HealthResponse {
        try await client.call(.health, Enclava_V1_HealthRequest(), as: Enclava_V1_HealthResponse.self)
    }

    @Test func endpointsParse() throws {
        #expect(try TTRPCEndpoint(parsing: "vsock:16:1024") == .vsock(cid: 16, port: 1024))
        #expect(try TTRPCEndpoint(parsing: "hvsock:/run/fc/v.sock:1024") == .hvsock(path: "/run/fc/v.sock", port: 1024))
        #expect(TTRPCEndpoint.hvsock(path: "/a:b", port: 7).description == "hvsock:/a:b:7")
        #expect(try TTRPCEndpoint(parsing: "hvsock:/a:b:7") == .hvsock(path: "/a:b", port: 7))
        for bad in ["vsock:16", "vsock:x:1", "vsock:1:99999999999", "hvsock:1024", "hvsock::1024", "hvsock:/p:port"] {
            let error = #expect(throws: WireError.self, "\(bad)") { try TTRPCEndpoint(parsing: bad) }
            #expect(error?.code == .invalidEndpoint, "\(bad)")
        }
    }

    @Test func answersAreParsedStrictly() throws {
        #expect(try HybridVsock.parseAnswer(Array("OK 1073741824".utf8)) == 1 << 30)
        for bad in ["ok 5", "OK", "OK ", "OK 5 6", "OK -5", "OK 5x", "OK 99999999999", "FAIL 5", "OK ５"] {
            #expect(throws: HybridVsock.AttemptFailure.malformedAnswer(HybridVsock.printable(Array(bad.utf8)))) {
                try HybridVsock.parseAnswer(Array(bad.utf8))
            }
        }
    }

    @Test func attemptsDoubleFrom25MillisecondsTo10SecondsWithinTheTotal() {
        let slots = HybridVsock.attemptDeadlines(total: .seconds(30))
        #expect(slots.prefix(4) == [.milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(200)])
        #expect(slots.max() == .seconds(10))
        #expect(slots.reduce(.zero, +) == .seconds(30))
        #expect(HybridVsock.attemptDeadlines(total: .milliseconds(60)) == [.milliseconds(25), .milliseconds(35)])
    }

    @Test func callsGoThroughTheVMMAfterOneConnectLine() async throws {
        let directory = try TestPaths.makeTemporaryDirectory(prefix: "hvsock").path
        let muxer = try FakeHybridVsockMuxer(path: directory + "/v.sock")
        defer { muxer.stop() }
        let server = try await TTRPCServer.bind(unixPath: directory + "/guest-1024", handler: EchoService())
        muxer.listen(port: 1024, unixPath: directory + "/guest-1024")
        let client = try await TTRPCClient.connect(to: .hvsock(path: muxer.path, port: 1024))
        #expect(try await Self.health(client).modelName == "echo")
        #expect(muxer.connectLines == ["CONNECT 1024"])
        await client.close()
        await server.close()
    }

    /// A guest that binds late (kata #734, firecracker #1479): the VMM closes silently, the client retries
    /// with growing deadlines and gets in once the guest listens.
    @Test func aGuestThatListensLateIsReachedByRetrying() async throws {
        let directory = try TestPaths.makeTemporaryDirectory(prefix: "hvsock").path
        let muxer = try FakeHybridVsockMuxer(path: directory + "/v.sock")
        defer { muxer.stop() }
        muxer.listen(port: 1024, unixPath: directory + "/guest-1024")
        let late = Task {
            while muxer.connectLines.count < 3 { try await Task.sleep(for: .milliseconds(5)) }
            return try await TTRPCServer.bind(unixPath: directory + "/guest-1024", handler: EchoService())
        }
        let client = try await TTRPCClient.connect(to: .hvsock(path: muxer.path, port: 1024), connectTimeout: .seconds(30))
        #expect(try await Self.health(client).state == .ready)
        #expect(muxer.connectLines.count >= 3)
        await client.close()
        try await late.value.close()
    }

    @Test func aGuestThatNeverListensFailsAfterTheTotalWithTheReason() async throws {
        let directory = try TestPaths.makeTemporaryDirectory(prefix: "hvsock").path
        let muxer = try FakeHybridVsockMuxer(path: directory + "/v.sock")
        defer { muxer.stop() }
        let error = await #expect(throws: RPCError.self) {
            _ = try await TTRPCClient.connect(to: .hvsock(path: muxer.path, port: 52), connectTimeout: .milliseconds(400))
        }
        #expect(error?.reason == "CONNECT_FAILED")
        #expect(error?.message.contains("nothing listens on that guest port yet") == true, "\(String(describing: error))")
        #expect(error?.message.contains("--connect-timeout") == true)
        #expect(muxer.connectLines.count >= 3 && muxer.connectLines.allSatisfy { $0 == "CONNECT 52" })
    }

    @Test func aMissingVMMSocketIsNamed() async throws {
        let directory = try TestPaths.makeTemporaryDirectory(prefix: "hvsock").path
        let error = await #expect(throws: RPCError.self) {
            _ = try await TTRPCClient.connect(to: .hvsock(path: directory + "/absent.sock", port: 1), connectTimeout: .milliseconds(100))
        }
        #expect(error?.message.contains("the VMM socket: the socket does not exist") == true, "\(String(describing: error))")
    }

    /// Something that is not a hybrid vsock socket answers at once: no retries, and the error shows what came.
    @Test(arguments: ["HELLO\n", "OK\n", String(repeating: "O", count: 40)])
    func aWrongAnswerEndsAtOnce(answer: String) async throws {
        let directory = try TestPaths.makeTemporaryDirectory(prefix: "hvsock").path
        let path = directory + "/not-a-vmm.sock"
        let impostor = try ImpostorVMM(path: path, answer: answer)
        defer { impostor.stop() }
        let error = await #expect(throws: RPCError.self) {
            _ = try await TTRPCClient.connect(to: .hvsock(path: path, port: 1024), connectTimeout: .seconds(20))
        }
        #expect(error?.reason == "CONNECT_FAILED")
        #expect(error?.message.contains("instead of `OK <port>`") == true, "\(String(describing: error))")
        #expect(impostor.connections == 1)
    }
}

/// A Unix socket that answers every connection with fixed bytes, then waits for the peer to close.
final class ImpostorVMM: @unchecked Sendable {
    private let fd: Int32
    private let count = Mutex(0)
    let path: String

    init(path: String, answer: String) throws {
        self.path = path
        let listener = try FakeHybridVsockMuxer.listeningSocket(path: path)
        fd = listener
        let answerBytes = Array(answer.utf8)
        Thread { [self] in
            while true {
                let client = accept(listener, nil, nil)
                guard client >= 0 else { return }
                count.withLock { $0 += 1 }
                var line = [UInt8](repeating: 0, count: 64)
                _ = read(client, &line, line.count)
                _ = answerBytes.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                Thread { var byte: UInt8 = 0; while read(client, &byte, 1) > 0 {}; close(client) }.start()
            }
        }.start()
    }

    var connections: Int { count.withLock { $0 } }

    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
        unlink(path)
    }
}
