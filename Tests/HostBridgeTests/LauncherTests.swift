import EnclavaWire
import Foundation
import HostBridge
import Testing

/// The launcher with real child processes (`/bin/sh` scripts standing in for `enclava-runtime`).
@Suite(.timeLimit(.minutes(2))) struct LauncherTests {
    static func configuration(script: String, extra: [String] = [], readyTimeout: Duration = .seconds(30)) -> HostBridgeConfiguration {
        var configuration = HostBridgeConfiguration(
            listenPort: 0,
            enclave: .launch(EnclaveLaunchConfiguration(executablePath: "/bin/sh",
                                                        arguments: ["-c", script, "sh", "{socket}"] + extra)))
        configuration.readyTimeout = readyTimeout
        configuration.healthPollInterval = .milliseconds(20)
        configuration.handleSignals = false
        configuration.shutdownGracePeriod = .seconds(2)
        configuration.restartBackoff = RestartBackoff(initialDelay: .milliseconds(50), maximumDelay: .milliseconds(200))
        return configuration
    }

    @Test func readyTimeoutNamesTheCauseAndShowsTheEnclaveStderr() async throws {
        let script = #"echo "enclava-runtime: opening image at $1" >&2; echo "error: image not found" >&2; exec sleep 30"#
        let bridge = HostBridgeServer(configuration: Self.configuration(script: script, readyTimeout: .milliseconds(600)))
        let error = await #expect(throws: HostBridgeError.self) { try await bridge.start() }
        #expect(error?.code == .readyTimeout)
        #expect(error?.enclaveStderr.contains("error: image not found") == true)
        #expect(error?.detailedDescription.contains("error: image not found") == true)
        #expect(error?.description.split(separator: "\n").count == 1, "the error itself is one line")
        #expect(await bridge.enclaveProcessID == nil)   // the child was stopped
        #expect(bridge.listeningPort == nil)
    }

    @Test func exitBeforeReadyIsReportedWithStatusAndStderr() async throws {
        let bridge = HostBridgeServer(configuration: Self.configuration(script: #"echo "bad manifest" >&2; exit 3"#))
        let error = await #expect(throws: HostBridgeError.self) { try await bridge.start() }
        #expect(error?.code == .enclaveExited)
        #expect(error?.message.contains("status 3") == true)
        #expect(error?.enclaveStderr == ["bad manifest"])
    }

    /// The enclave's own reason (its `enclava-runtime: …` line) is the bridge's one-line error, first.
    @Test func theEnclavesOwnReasonIsTheErrorLine() async throws {
        let script = #"echo "info: platform ready" >&2; echo "enclava-runtime: the image key is sealed for another runtime; repackage it" >&2; echo "info: stopped" >&2; exit 1"#
        let bridge = HostBridgeServer(configuration: Self.configuration(script: script))
        let error = await #expect(throws: HostBridgeError.self) { try await bridge.start() }
        #expect(error?.code == .enclaveExited)
        #expect(error?.description == "ENCLAVE_EXITED: the enclave could not start: the image key is sealed for another runtime; repackage it")
    }

    /// A port that is taken is found before the enclave is launched (so nothing is decrypted for nothing).
    @Test func aTakenPortIsReportedBeforeTheEnclaveIsLaunched() async throws {
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("enclava-launched-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: marker) }
        let first = HostBridgeServer(configuration: Self.configuration(script: "exec sleep 30", readyTimeout: .seconds(30)))
        let holder = Task { try await first.start() }
        var port: Int?
        for _ in 0..<200 where port == nil {
            port = first.listeningPort
            try await Task.sleep(for: .milliseconds(20))
        }
        let taken = try #require(port)
        var configuration = Self.configuration(script: "touch '\(marker.path)'; exec sleep 30")
        configuration.listenPort = taken
        let second = HostBridgeServer(configuration: configuration)
        let error = await #expect(throws: HostBridgeError.self) { try await second.start() }
        #expect(error?.code == .bindFailed)
        #expect(error?.message.contains("another process is already listening there") == true, "\(error?.message ?? "")")
        #expect(!FileManager.default.fileExists(atPath: marker.path), "the enclave was launched before the port was checked")
        holder.cancel()
        await first.shutdown()
    }

    @Test func missingExecutableIsALaunchFailure() async throws {
        var configuration = Self.configuration(script: "")
        configuration.enclave = .launch(.runtime(executablePath: "/nonexistent/enclava-runtime", imagePath: "x.eimg"))
        let error = await #expect(throws: HostBridgeError.self) { try await HostBridgeServer(configuration: configuration).start() }
        #expect(error?.code == .launchFailed)
        #expect(error?.message.contains("/nonexistent/enclava-runtime") == true)
    }

    @Test func shutdownWhileWaitingForTheEnclaveAbortsStart() async throws {
        var configuration = HostBridgeConfiguration(listenPort: 0, enclave: .attach(socketPath: temporaryPath("absent")))
        configuration.readyTimeout = .seconds(60)
        configuration.handleSignals = false
        let bridge = HostBridgeServer(configuration: configuration)
        let starting = Task { try await bridge.start() }
        try await Task.sleep(for: .milliseconds(200))
        await bridge.shutdown()
        let error = await #expect(throws: HostBridgeError.self) { try await starting.value }
        #expect(error?.code == .invalidState)
        #expect(bridge.listeningPort == nil)
    }

    @Test func shutdownWhileRunIsStartingReturnsWithoutError() async throws {
        var configuration = HostBridgeConfiguration(listenPort: 0, enclave: .attach(socketPath: temporaryPath("absent")))
        configuration.readyTimeout = .seconds(60)
        configuration.handleSignals = false
        let bridge = HostBridgeServer(configuration: configuration)
        let running = Task { try await bridge.run() }
        try await Task.sleep(for: .milliseconds(200))
        await bridge.shutdown()
        try await running.value
    }

    @Test func runtimeCommandLineAndPlaceholder() throws {
        let launch = EnclaveLaunchConfiguration.runtime(executablePath: "/usr/bin/enclava-runtime", imagePath: "m.eimg",
                                                        extraArguments: ["--allow-unlocked-memory"])
        #expect(launch.hasControlSocket)
        #expect(launch.resolvedArguments(socketPath: "/tmp/d/enclave.sock", controlSocketPath: "/tmp/d/control.sock")
            == ["--backend", "sim", "--listen", "unix:/tmp/d/enclave.sock", "--control", "unix:/tmp/d/control.sock",
                "--image", "m.eimg", "--exit-with-parent", "--allow-unlocked-memory"])
        var configuration = HostBridgeConfiguration(listenPort: 0, enclave: .launch(
            EnclaveLaunchConfiguration(executablePath: "/bin/true", arguments: ["--listen", "somewhere"])))
        let error = #expect(throws: HostBridgeError.self) { try configuration.validate() }
        #expect(error?.code == .invalidConfiguration)
        configuration.enclave = .launch(launch)
        configuration.listenPort = 70000
        #expect(throws: HostBridgeError.self) { try configuration.validate() }
    }

    @Test func backoffGrowsExponentiallyUpToTheMaximum() {
        let backoff = RestartBackoff(initialDelay: .milliseconds(250), maximumDelay: .seconds(3), multiplier: 2)
        #expect((0..<7).map { backoff.delay(forAttempt: $0) }
            == [.milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(3), .seconds(3), .seconds(3)])
    }

    /// The child only sleeps then exits; the test serves `Health` on the socket the bridge gave it, so the
    /// bridge sees a ready enclave that dies, and must restart it.
    @Test func deadEnclaveIsRestartedUntilTheLimitThenRunFails() async throws {
        let countFile = temporaryPath("launches", ".txt")
        defer { try? FileManager.default.removeItem(atPath: countFile) }
        // The child dies only once the bridge has seen it ready (the stand-in creates the marker when it answers
        // Health READY), however slow the machine is.
        let marker = temporaryPath("ready", ".marker")
        defer { try? FileManager.default.removeItem(atPath: marker) }
        var configuration = Self.configuration(
            script: #"echo launched >> "$2"; echo "enclave $$ up" >&2; while [ ! -e "$3" ]; do sleep 0.05; done; rm -f "$3"; sleep 1; exit 7"#,
            extra: [countFile, marker])
        configuration.restartBackoff = RestartBackoff(initialDelay: .milliseconds(50), maximumDelay: .milliseconds(200),
                                                      maxConsecutiveFailures: 2)
        let bridge = HostBridgeServer(configuration: configuration)
        let responder = Task { try await serveHealth(for: bridge, readyMarker: marker) }
        let error = await #expect(throws: HostBridgeError.self) { try await bridge.run() }
        responder.cancel()
        #expect(error?.code == .restartLimitReached)
        #expect(await bridge.enclaveRestartCount == 2)
        let launches = (try? String(contentsOfFile: countFile, encoding: .utf8))?.split(separator: "\n").count ?? 0
        #expect(launches == 3)
        #expect(await bridge.enclaveProcessID == nil)
    }

    @Test func gracefulShutdownStopsALaunchedEnclave() async throws {
        // `sleep` does not act on Shutdown: the bridge must escalate to signals after the grace period.
        let bridge = HostBridgeServer(configuration: Self.configuration(script: "exec sleep 60"))
        let responder = Task { try await serveHealth(for: bridge) }
        try await bridge.start()
        let pid = try #require(await bridge.enclaveProcessID)
        #expect(kill(pid, 0) == 0)
        // The child must not inherit the blocked signal mask of the Swift thread pool: SIGTERM and SIGINT work.
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let blocked = try #require(status.split(separator: "\n").first { $0.hasPrefix("SigBlk:") })
        let mask = try #require(UInt64(blocked.dropFirst("SigBlk:".count).trimmingCharacters(in: .whitespaces), radix: 16))
        #expect(mask & (1 << (SIGTERM - 1)) == 0 && mask & (1 << (SIGINT - 1)) == 0, "child \(blocked)")
        let socketPath = try #require(await bridge.enclaveSocketPath)
        await bridge.shutdown()
        responder.cancel()
        #expect(await bridge.enclaveProcessID == nil)
        #expect(!FileManager.default.fileExists(atPath: (socketPath as NSString).deletingLastPathComponent))
    }

    /// With a control socket, `Health` polls and the final `Shutdown` travel on it, never on the client socket.
    @Test func hostCallsTravelOnTheControlSocket() async throws {
        var configuration = Self.configuration(script: "exec sleep 60")
        configuration.enclave = .launch(EnclaveLaunchConfiguration(executablePath: "/bin/sh",
                                                                   arguments: ["-c", "exec sleep 60", "sh", "{socket}", "{control}"]))
        let bridge = HostBridgeServer(configuration: configuration)
        let control = StandInEnclave()
        let responder = Task { try await serveHealth(for: bridge, control: control) }
        try await bridge.start()
        let controlPath = try #require(await bridge.enclaveControlSocketPath)
        let socketPath = try #require(await bridge.enclaveSocketPath)
        #expect((controlPath as NSString).deletingLastPathComponent == (socketPath as NSString).deletingLastPathComponent)
        #expect(controlPath != socketPath)
        await bridge.shutdown()
        responder.cancel()
        #expect(await control.log.shutdowns == 1)
        #expect(await bridge.enclaveProcessID == nil)
    }

    @Test func sigtermStopsRun() async throws {
        var configuration = Self.configuration(script: "exec sleep 60")
        configuration.handleSignals = true
        let bridge = HostBridgeServer(configuration: configuration)
        let responder = Task { try await serveHealth(for: bridge) }
        try await bridge.start()
        let running = Task { try await bridge.run() }
        // Wait until run() has installed its handler (SIGTERM no longer has the default, fatal action).
        while !sigtermIsHandled() { try await Task.sleep(for: .milliseconds(10)) }
        kill(getpid(), SIGTERM)
        try await running.value
        responder.cancel()
        #expect(await bridge.enclaveProcessID == nil)
    }
}

/// Plays the enclave's ttrpc side for launcher tests: keeps a `Health` server bound on the bridge's
/// private socket path (re-binding whenever the bridge removes the socket before a relaunch).
/// With `control`, it serves that stand-in on the control socket instead (the client socket stays unbound).
func serveHealth(for bridge: HostBridgeServer, control: StandInEnclave? = nil, readyMarker: String? = nil) async throws {
    var server: TTRPCServer?
    defer { if let server { Task { await server.close() } } }
    while !Task.isCancelled {
        let socket = control == nil ? await bridge.enclaveSocketPath : await bridge.enclaveControlSocketPath
        if let path = socket,
           FileManager.default.fileExists(atPath: (path as NSString).deletingLastPathComponent),
           !FileManager.default.fileExists(atPath: path) {
            await server?.close()
            server = try? await TTRPCServer.bind(unixPath: path, handler: control ?? StandInEnclave(readyMarker: readyMarker))
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}

func sigtermIsHandled() -> Bool {
    var current = sigaction()
    sigaction(SIGTERM, nil, &current)
    return current.__sigaction_handler.sa_handler.map { unsafeBitCast($0, to: Int.self) > 1 } ?? false   // not SIG_DFL/SIG_IGN
}
