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

    @Test func theConnectionCapAndIdleTimeoutOptionsAreApplied() throws {
        let (serve, port) = try EndToEndTests().startBridge(extra: ["--max-connections", "1", "--idle-timeout", "3"])
        defer { serve.signal(SIGTERM); _ = serve.wait(timeout: 30) }
        // The readiness probe's connection may still hold the one slot for a moment: retry until served.
        var holder: RawSocket?
        for _ in 0..<50 where holder == nil {
            let socket = try RawSocket(port: port)
            try socket.send(try Self.healthFrame())
            if ByteSearch.statusCode(inResponseFrame: try socket.receive(atLeast: 10, timeout: 5)) == 0 { holder = socket }
        }
        let served = try #require(holder, "no connection was served: \(serve.stderrSoFar)")
        let second = try RawSocket(port: port)
        #expect(second.waitForClose(timeout: 20))
        #expect(served.waitForClose(timeout: 30))   // idle for three seconds: closed by the bridge
        // The log lines reach serve's stderr pipe a moment after the sockets close.
        for line in ["refused a client connection: 1 connections are open", "closing an idle client connection"] {
            let deadline = Date().addingTimeInterval(20)
            while !serve.stderrSoFar.contains(line) && Date() < deadline { usleep(50_000) }
            #expect(serve.stderrSoFar.contains(line), "no `\(line)` in: \(serve.stderrSoFar)")
        }
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
        #expect(!result.stderr.contains("ready on"))
    }
}
