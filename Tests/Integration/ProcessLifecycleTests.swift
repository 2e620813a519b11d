import EnclavaTesting
import Foundation
import Testing

/// No orphaned enclaves (issue 9): whatever signal stops `enclava serve` or `enclava run` — including `kill -9`,
/// which no handler sees — the enclave stops too (its standard input is a lifeline pipe) and its socket folder
/// is removed. Each test looks for survivors by the image path only it uses.
@Suite(.serialized) struct ProcessLifecycleTests {
    let fixture = CLIFixture.shared

    /// A work folder with its own copy of the image (so survivors are found by path) and its own TMPDIR.
    struct Work {
        let folder: URL
        let image: URL
        let tmp: URL
    }

    func makeWork() throws -> Work {
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-life")
        let image = folder.appendingPathComponent("life-\(UUID().uuidString.prefix(6)).eimg")
        try FileManager.default.copyItem(at: fixture.image, to: image)
        let tmp = folder.appendingPathComponent("t")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        return Work(folder: folder, image: image, tmp: tmp)
    }

    /// Processes whose command line mentions `needle`.
    static func processes(mentioning needle: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            return String(decoding: data, as: UTF8.self).contains(needle)
        }
    }

    /// Waits until no process mentions `needle`; returns the survivors after `seconds`.
    static func survivors(of needle: String, within seconds: Double) -> [Int32] {
        let deadline = Date().addingTimeInterval(seconds)
        var left = processes(mentioning: needle)
        while !left.isEmpty, Date() < deadline {
            usleep(100_000)
            left = processes(mentioning: needle)
        }
        return left
    }

    @Test(arguments: [SIGKILL, SIGTERM, SIGINT])
    func stoppingServeStopsItsEnclave(_ signal: Int32) throws {
        let work = try makeWork()
        defer { try? FileManager.default.removeItem(at: work.folder) }
        let port = TestProcess.freeTCPPort()
        let serve = TestProcess(fixture.enclava, ["serve", "--image", work.image.path, "--listen", "127.0.0.1:\(port)",
                                                   "--allow-unlocked-memory", "--shutdown-grace", "2"],
                                environment: fixture.environment.merging(["TMPDIR": work.tmp.path]) { $1 })
        try serve.start()
        let deadline = Date().addingTimeInterval(60)
        while !serve.stdoutSoFar.contains("ready on"), serve.process.isRunning, Date() < deadline { usleep(100_000) }
        #expect(serve.stdoutSoFar.contains("enclava serve: ready on 127.0.0.1:"), "\(serve.stderrSoFar)")
        let enclaves = Self.processes(mentioning: work.image.path).filter { $0 != serve.process.processIdentifier }
        #expect(enclaves.count == 1, "expected one enclave for \(work.image.lastPathComponent), found \(enclaves)")
        serve.signal(signal)
        let result = serve.wait(timeout: 30)
        if signal != SIGKILL { #expect(result.status == 0, "serve exited \(result.status) on signal \(signal): \(result.stderr)") }
        #expect(Self.survivors(of: work.image.path, within: 15).isEmpty, "enclave survived serve's signal \(signal)")
        let left = try FileManager.default.contentsOfDirectory(atPath: work.tmp.path)
        #expect(left.isEmpty, "socket folders left after signal \(signal): \(left)")
    }

    /// `enclava run` interrupted while its enclave starts (a wrapper makes the start slow): the first signal stops
    /// the enclave within the grace period, `kill -9` of `run` stops it through the lifeline.
    @Test(arguments: [SIGINT, SIGTERM, SIGKILL])
    func interruptingRunStopsItsEnclave(_ signal: Int32) throws {
        let work = try makeWork()
        defer { try? FileManager.default.removeItem(at: work.folder) }
        let wrapper = work.folder.appendingPathComponent("slow-runtime")
        try "#!/bin/sh\nsleep 2\nexec '\(fixture.runtime.path)' \"$@\"\n".write(to: wrapper, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: wrapper.path)
        let run = TestProcess(fixture.enclava, ["run", "--sim", "--image", work.image.path, "--runtime", wrapper.path,
                                                 "--allow-unlocked-memory", "--shutdown-grace", "1",
                                                 "--input", "features=[[1,2,3,4,5,6,7,8]]"],
                              environment: fixture.environment.merging(["TMPDIR": work.tmp.path]) { $1 })
        try run.start()
        let deadline = Date().addingTimeInterval(30)
        func launched() -> Bool {
            !Self.processes(mentioning: wrapper.path).filter { $0 != run.process.processIdentifier }.isEmpty
        }
        while !launched(), run.process.isRunning, Date() < deadline { usleep(50_000) }
        #expect(run.process.isRunning, "run finished before it could be interrupted: \(run.stderrSoFar)")
        run.signal(signal)
        let result = run.wait(timeout: 30)
        #expect(result.status != 0)
        if signal != SIGKILL { #expect(result.stderr.contains("stopping the enclave"), "\(result.stderr)") }
        #expect(Self.survivors(of: work.image.path, within: 15).isEmpty, "enclave survived run's signal \(signal)")
        let left = Self.survivors(of: work.tmp.path, within: 5)
        #expect(left.isEmpty)
        let folders = try FileManager.default.contentsOfDirectory(atPath: work.tmp.path)
        #expect(folders.isEmpty, "socket folders left after signal \(signal): \(folders)")
    }
}
