import EnclavaTesting
import EnclavaWire
import Foundation
import Testing

/// The limit options reach the bridge of a real `enclava serve` (each bound is tested in depth, with
/// real sockets, in HostBridgeTests.ClientLimitTests).
@Suite(.serialized) struct ServeLimitWiringTests {
    static func healthFrame() throws -> [UInt8] {
        var request = Ttrpc_Request()
        request.service = EnclaveService.name
        request.method = EnclaveService.Method.health.rawValue
        return Array(try Frame.request(streamID: 1, request).encoded().readableBytesView)
    }

    /// A connection the bridge served a Health call on (retrying: a fresh connection may be refused while the
    /// readiness probe's connection still holds the one slot).
    static func servedConnection(port: Int) throws -> RawSocket? {
        for _ in 0..<50 {
            let socket = try RawSocket(port: port)
            try socket.send(try Self.healthFrame())
            if ByteSearch.statusCode(inResponseFrame: try socket.receive(atLeast: 10, timeout: 5)) == 0 { return socket }
        }
        return nil
    }

    /// Waits for `line` to reach serve's stderr pipe (it arrives a moment after the socket event).
    static func expectLogLine(_ line: String, from serve: TestProcess) {
        let deadline = Date().addingTimeInterval(20)
        while !serve.stderrSoFar.contains(line) && Date() < deadline { usleep(50_000) }
        #expect(serve.stderrSoFar.contains(line), "no `\(line)` in: \(serve.stderrSoFar)")
    }

    @Test func theConnectionCapOptionIsApplied() throws {
        let (serve, port) = try EndToEndTests().startBridge(extra: ["--max-connections", "1"])
        defer { serve.signal(SIGTERM); _ = serve.wait(timeout: 30) }
        let holder = try #require(try Self.servedConnection(port: port), "no connection was served: \(serve.stderrSoFar)")
        let second = try RawSocket(port: port)
        #expect(second.waitForClose(timeout: 20))
        Self.expectLogLine("refused a client connection: 1 connections are open", from: serve)
        try holder.send(try Self.healthFrame())
        #expect(ByteSearch.statusCode(inResponseFrame: try holder.receive(atLeast: 10, timeout: 10)) == 0)
    }

    @Test func theIdleTimeoutOptionIsApplied() throws {
        let (serve, port) = try EndToEndTests().startBridge(extra: ["--idle-timeout", "1"])
        defer { serve.signal(SIGTERM); _ = serve.wait(timeout: 30) }
        let served = try #require(try Self.servedConnection(port: port), "no connection was served: \(serve.stderrSoFar)")
        #expect(served.waitForClose(timeout: 30))   // idle for a second: closed by the bridge
        Self.expectLogLine("closing an idle client connection", from: serve)
    }
}

/// `enclava serve` refuses limit values that would switch a bound off, naming the option and the range,
/// before it launches anything.
@Suite struct ServeLimitOptionTests {
    let fixture = CLIFixture.shared

    @Test(arguments: [
        (["--max-connections", "0"], "--max-connections must be 1…1000000, got 0"),
        (["--idle-timeout", "0"], "--idle-timeout must be 1…86400 seconds, got 0"),
        (["--max-queued-requests", "0"], "--max-queued-requests must be 1…65536, got 0"),
        (["--max-inflight-bytes", "4096"], "--max-inflight-bytes must hold at least one full frame of this image (4194314 bytes"),
    ])
    func aLimitThatSwitchesABoundOffIsRefused(options: [String], message: String) throws {
        let result = try fixture.run(["serve", "--image", fixture.image.path, "--listen", "127.0.0.1:0"] + options, timeout: 60)
        #expect(result.status != 0)
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(!result.stdout.contains("ready on") && !result.stderr.contains("ready on"))
    }
}
