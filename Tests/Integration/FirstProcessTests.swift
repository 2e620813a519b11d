import EnclavaTesting
import EnclavaWire
import Foundation
import Testing

/// Issue 13: `enclava-runtime` as a confidential VM's first process (the launch bundle's `/init`). Shown here in a
/// new PID and mount namespace, where the runtime is PID 1 as in a VM: it mounts /proc, /sys, /dev and configfs in
/// its private mounts, serves, and on SIGTERM stops and powers off (which ends the namespace) instead of exiting.
@Suite(.serialized) struct FirstProcessTests {
    let fixture = CLIFixture.shared

    /// Whether this machine lets root make PID and mount namespaces (containers may not).
    static let namespacesWork: Bool = {
        guard let result = try? TestProcess.run(URL(fileURLWithPath: "/usr/bin/unshare"),
                                                ["--mount", "--pid", "--fork", "--propagation", "private", "true"],
                                                timeout: 30) else { return false }
        return result.status == 0
    }()

    /// The PID (in this namespace) of `parent`'s child, once it has one.
    static func child(of parent: Int32) -> Int32? {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for pid in entries where pid.allSatisfy(\.isNumber) {
            guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { continue }
            if status.split(separator: "\n").contains("PPid:\t\(parent)") { return Int32(pid) }
        }
        return nil
    }

    @Test(.enabled(if: namespacesWork, "this machine does not let root create PID and mount namespaces (unshare failed)"))
    func asPID1ItMountsWhatItNeedsServesAndPowersOffWhenStopped() async throws {
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-init")
        defer { try? FileManager.default.removeItem(at: folder) }
        let socket = folder.appendingPathComponent("enclave.sock").path
        let namespace = TestProcess(URL(fileURLWithPath: "/usr/bin/unshare"),
                                    ["--mount", "--pid", "--fork", "--propagation", "private", fixture.runtime.path,
                                     "--backend", "sim", "--listen", "unix:\(socket)", "--image", fixture.image.path,
                                     "--sim-home", fixture.home.path],
                                    environment: fixture.environment)
        try namespace.start()
        defer { if namespace.process.isRunning { namespace.signal(SIGKILL); _ = namespace.wait(timeout: 30) } }
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && (try? RawSocket(unixPath: socket)) == nil {
            try #require(namespace.process.isRunning, "exited: \(namespace.stderrSoFar)")
            usleep(100_000)
        }
        let client = try await TTRPCClient.connect(to: .unix(socket))
        let health = try await client.call(.health, Enclava_V1_HealthRequest(), as: Enclava_V1_HealthResponse.self)
        await client.close()
        #expect(health.state == .ready)
        // configfs where this kernel has it (a Debian guest kernel does); where not, the line names what is missing.
        let expected = FileManager.default.fileExists(atPath: "/sys/kernel/config")
            ? "first process: mounted /proc, /sys, /dev, /sys/kernel/config\n"
            : "first process: mounted /proc, /sys, /dev; could not mount /sys/kernel/config (No such file or directory)"
        #expect(namespace.stderrSoFar.contains(expected), "\(namespace.stderrSoFar)")

        let runtime = try #require(Self.child(of: namespace.process.processIdentifier))
        kill(runtime, SIGTERM)
        let ended = namespace.wait(timeout: 60)
        #expect(ended.stderr.contains("first process ending (status 0): powering off"), "\(ended.stderr)")
        #expect(!ended.stderr.contains("power off failed"), "\(ended.stderr)")
        // The host's mounts are untouched: the runtime's went to its private namespace.
        let mounts = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        #expect(!mounts.contains(folder.path))
    }
}
