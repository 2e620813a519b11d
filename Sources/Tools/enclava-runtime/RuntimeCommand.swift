import ArgumentParser
import EnclavaWire
import EnclavePlatform
import EnclaveRuntime
import Foundation
import Logging

/// `enclava-runtime`: the enclave process (DESIGN.md §1, §5).
@main
struct RuntimeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enclava-runtime",
        abstract: "Run an Enclava image inside a TEE and serve attested, encrypted inference over ttrpc.",
        discussion: "Normally launched by `enclava serve`. Logs go to stderr and never contain secrets.",
        version: "enclava-runtime \(EnclavaVersion.current)")

    /// `enclava-runtime --version` and `enclava-runtime version` answer without the options a launch needs.
    static func main() async {
        // A confidential VM's /init: nothing is mounted yet, and Swift read its command line from /proc/self/cmdline
        // before /proc existed; read again once it does.
        if FirstProcess.isFirst { FirstProcess.prepare() }
        let arguments = (FirstProcess.isFirst ? FirstProcess.commandLine() : CommandLine.arguments).dropFirst()
        if arguments.first == "version" || arguments.contains("--version") {
            print("enclava-runtime \(EnclavaVersion.current)")
            return
        }
        // A launcher that died closes our stderr pipe too: a log line must not kill us with SIGPIPE before we have
        // cleaned up (sockets use MSG_NOSIGNAL already).
        signal(SIGPIPE, SIG_IGN)
        do {
            var command = try parseAsRoot(Array(arguments))
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            guard FirstProcess.isFirst else { exit(withError: error) }
            FileHandle.standardError.write(Data("enclava-runtime: \(fullMessage(for: error))\n".utf8))
            FirstProcess.end(exitCode(for: error).rawValue)
        }
        if FirstProcess.isFirst { FirstProcess.end(0) }
    }

    @Option(help: "TEE backend: sim (default), sev-snp, tdx, sgx, or auto to detect the hardware TEE.")
    var backend: String = "sim"

    @OptionGroup var hardware: HardwareBackendOptions

    @Option(help: "Where to listen: unix:PATH (launched by `enclava serve`), vsock:PORT (inside a confidential VM or Nitro enclave, on any CID), or tcp:HOST:PORT (tests only: a TEE should not be reachable over the host's network).")
    var listen: String

    @Option(help: "The private control socket of the launching host, as unix:PATH (or vsock:PORT inside a VM): the only place Shutdown and the sealed-state exchange are accepted (without it, SIGTERM/SIGINT stop the runtime).")
    var control: String?

    @Option(help: "The signed enclave image (.eimg) to run.")
    var image: String

    @Option(name: .customLong("key-broker"), help: "Where the key broker is reached, for images with [keys] release = \"broker\": unix:PATH, the host bridge's forwarding socket (`enclava serve --key-broker`), or vsock:2:PORT inside a VM (the host bridge listens there: `enclava serve --enclave ... --key-broker-port PORT`).")
    var keyBroker: String?

    @Option(name: .customLong("sim-home"), help: "Simulated platform home (default: $ENCLAVA_HOME or ~/.enclava).")
    var simHome: String?

    @Option(name: .customLong("sim-format"), help: "With --backend sim: the evidence format, snp, tdx or sgx.")
    var simFormat: String = "snp"

    @Option(name: .customLong("signer-fingerprint"),
            help: "Refuse an image not signed by the key with this SHA-256 fingerprint (64 hex digits, as `enclava inspect` prints).")
    var signerFingerprint: String?

    @Option(name: .customLong("sealed-state"),
            help: "Where the image's sealed state is kept, to restart without a key release: `host` (the host offers its copy over --control at start and takes each new one; what `enclava serve --state-dir` passes), or a file this runtime reads at start and rewrites (atomically, 0600) after a release.")
    var sealedState: String?

    @Flag(name: .customLong("allow-unlocked-memory"),
          help: "Development only, --backend sim only: run even if secrets cannot be locked in RAM (RLIMIT_MEMLOCK too small). Reported to clients in Health and every result.")
    var allowUnlockedMemory = false

    @Flag(name: .customLong("exit-with-parent"),
          help: "Stop when standard input closes: the launcher passes a pipe only it holds, so the enclave stops (and removes its sockets) when the launcher dies, even by kill -9.")
    var exitWithParent = false

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    func run() async throws {
        guard let level = Logger.Level(rawValue: logLevel) else {
            fail("--log-level `\(logLevel)` is not one of trace, debug, info, notice, warning, error, critical")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "enclava.runtime")

        // Refused before any hardware is touched: a host must not be able to unlock a hardware enclave's secrets.
        if allowUnlockedMemory && backend != "sim" && backend != "auto" {
            fail(EnclaveRuntime.unlockedMemoryRefusal(backend: backend))
        }
        let hardwarePlatform: (any TEEPlatform)?
        do {
            hardwarePlatform = try hardware.platform(backend: backend)
        } catch let error as PlatformError {
            fail(error.description)
        } catch {
            fail("\(error)")
        }

        if allowUnlockedMemory, let hardwarePlatform {
            fail(EnclaveRuntime.unlockedMemoryRefusal(backend: hardwarePlatform.backend))
        }

        var options: RuntimeOptions
        do {
            // Hardware platforms are built here and injected; `RuntimeOptions.Backend` covers `sim`.
            options = RuntimeOptions(backend: hardwarePlatform == nil ? try RuntimeOptions.Backend(parsing: backend) : .sim,
                                     listen: try RuntimeOptions.ListenAddress(parsing: listen),
                                     imagePath: image,
                                     simHome: simHome ?? RuntimeOptions.defaultSimHome(),
                                     allowUnlockedMemory: allowUnlockedMemory)
            options.signerFingerprint = try signerFingerprint.map(RuntimeOptions.parseSignerFingerprint)
            options.simFormat = try RuntimeOptions.SimFormat(parsing: simFormat)
            options.sealedState = try sealedState.map(RuntimeOptions.parseSealedState)
            if options.sealedState == .host, control == nil {
                fail("--sealed-state host needs --control (unix:PATH, or vsock:PORT in a VM): the host offers and takes the sealed state there")
            }
            if let control {
                guard let address = try? RuntimeOptions.ListenAddress(parsing: control), address.isPrivateToTheHost else {
                    fail("--control must be unix:PATH (e.g. unix:/tmp/enclava-control.sock) or, inside a VM, vsock:PORT (only the host reaches a guest's vsock ports), got `\(control)`")
                }
                options.control = address
            }
            if let keyBroker {
                options.keyBroker = try RuntimeOptions.keyBrokerEndpoint(parsing: keyBroker)
            }
        } catch let error as RuntimeError {
            fail(error.message)
        } catch {
            fail("--sim-format: \(error)")
        }

        let sockets = [options.listen, options.control].compactMap { address -> String? in
            guard let address, case .unix(let path) = address else { return nil }
            return path
        }
        let started = RuntimeBox()
        if exitWithParent {
            // Watched from before the model loads: a launcher that dies during a slow start stops us too.
            ParentLifeline.watch { reason in
                started.parentGone = true
                guard let runtime = started.runtime else {
                    ParentLifeline.removeSockets(sockets)
                    FirstProcess.end(1)
                }
                logger.warning("\(reason); shutting down")
                Task { await runtime.shutdown(delay: .zero) }
                // Bounded: nobody is left to wait for a graceful stop.
                Thread.sleep(forTimeInterval: 5)
                ParentLifeline.removeSockets(sockets)
                FirstProcess.end(1)
            }
        }

        let runtime: EnclaveRuntime
        do {
            runtime = try await EnclaveRuntime.start(options: options, platform: hardwarePlatform, logger: logger)
        } catch let error as RuntimeError {
            fail(error.message)
        } catch {
            fail("\(error)")
        }
        started.runtime = runtime

        let signals = SignalWatcher(signals: [SIGTERM, SIGINT]) { signal in
            logger.info("signal received, shutting down", metadata: ["signal": "\(signal)"])
            Task { await runtime.shutdown() }
        }
        await runtime.waitUntilStopped()
        signals.cancel()
        // The launcher removes the socket folder itself (and reuses it for a restart) unless it is gone.
        if started.parentGone { ParentLifeline.removeSockets(sockets) }
        // A model that failed to load after its key was released ends the process like a failed start.
        if let failure = await runtime.exitFailure { fail(failure.message) }
    }

    /// Prints one line to stderr and exits non-zero.
    private func fail(_ message: String) -> Never {
        let line = message.split(whereSeparator: \.isNewline).joined(separator: " ")
        FileHandle.standardError.write(Data("enclava-runtime: \(line)\n".utf8))
        FirstProcess.end(1)
    }
}

/// The started runtime and whether the launcher is gone, shared with the lifeline thread.
private final class RuntimeBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: EnclaveRuntime?
    private var gone = false
    var runtime: EnclaveRuntime? {
        get { lock.lock(); defer { lock.unlock() }; return value }
        set { lock.lock(); value = newValue; lock.unlock() }
    }
    var parentGone: Bool {
        get { lock.lock(); defer { lock.unlock() }; return gone }
        set { lock.lock(); gone = newValue; lock.unlock() }
    }
}
