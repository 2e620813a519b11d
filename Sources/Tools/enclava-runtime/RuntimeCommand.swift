import ArgumentParser
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
        discussion: "Normally launched by `enclava serve`. Logs go to stderr and never contain secrets.")

    @Option(help: "TEE backend: sim (default), sev-snp, tdx, sgx, or auto to detect the hardware TEE.")
    var backend: String = "sim"

    @OptionGroup var hardware: HardwareBackendOptions

    @Option(help: "Where to listen, as unix:PATH.")
    var listen: String

    @Option(help: "The signed enclave image (.eimg) to run.")
    var image: String

    @Option(name: .customLong("sim-home"), help: "Simulated platform home (default: $ENCLAVA_HOME or ~/.enclava).")
    var simHome: String?

    @Option(name: .customLong("sim-format"), help: "With --backend sim: the evidence format, snp, tdx or sgx.")
    var simFormat: String = "snp"

    @Flag(name: .customLong("allow-unlocked-memory"),
          help: "Development only, --backend sim only: run even if secrets cannot be locked in RAM (RLIMIT_MEMLOCK too small). Reported to clients in Health and every result.")
    var allowUnlockedMemory = false

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
            options.simFormat = try RuntimeOptions.SimFormat(parsing: simFormat)
        } catch let error as RuntimeError {
            fail(error.message)
        } catch {
            fail("--sim-format: \(error)")
        }

        let runtime: EnclaveRuntime
        do {
            runtime = try await EnclaveRuntime.start(options: options, platform: hardwarePlatform, logger: logger)
        } catch let error as RuntimeError {
            fail(error.message)
        } catch {
            fail("\(error)")
        }

        let signals = SignalWatcher(signals: [SIGTERM, SIGINT]) { signal in
            logger.info("signal received, shutting down", metadata: ["signal": "\(signal)"])
            Task { await runtime.shutdown() }
        }
        await runtime.waitUntilStopped()
        signals.cancel()
    }

    /// Prints one line to stderr and exits non-zero.
    private func fail(_ message: String) -> Never {
        let line = message.split(whereSeparator: \.isNewline).joined(separator: " ")
        FileHandle.standardError.write(Data("enclava-runtime: \(line)\n".utf8))
        Foundation.exit(1)
    }
}
