import EnclavaTesting
import EnclavaWire
import Foundation

/// `enclava-bench relay [--seconds 3] [--stream-mib 256] --c-relay PATH`: what the host bridge costs per
/// transport (issue 11). A stand-in enclave in this process answers Health and echoes Infer payloads on a Unix
/// socket; clients (also here) reach it directly, through the real `enclava serve --enclave unix:…`, through
/// `enclava serve --enclave hvsock:…` and the fake Firecracker VMM, and through a minimal C relay (the peer,
/// peers/c_relay.c: TCP → Unix copying, no parsing). Per path: 64-byte Health round trips per second on 1 and
/// 32 connections, and a stream of 1 MiB Infer frames echoed back, in GB/s of payload both ways. The ratio
/// column is the bridge over the C relay measured in the same run (the goal: at least 0.70). The last row is
/// the same echo across the in-process ocall edge (``ocallRates(seconds:streamMiB:)``), against the direct socket.
enum RelayBenchmark {
    struct Path {
        let name: String
        let endpoint: TTRPCEndpoint
    }

    static func main(_ arguments: [String]) -> Never {
        var seconds = 3.0
        var streamMiB = 256
        var cRelay: String?
        var index = 0
        while index < arguments.count {
            let value = index + 1 < arguments.count ? arguments[index + 1] : ""
            switch arguments[index] {
            case "--seconds": seconds = Double(value) ?? seconds
            case "--stream-mib": streamMiB = Int(value) ?? streamMiB
            case "--c-relay": cRelay = value
            default:
                FileHandle.standardError.write(Data("enclava-bench relay: unknown option \(arguments[index])\n".utf8))
                exit(2)
            }
            index += 2
        }
        let settings = (seconds: seconds, streamMiB: streamMiB, cRelay: cRelay)
        BenchMain.run("relay") {
            guard let cRelay = settings.cRelay, FileManager.default.isExecutableFile(atPath: cRelay) else {
                throw BenchError("the C relay peer is missing: build Sources/Tools/enclava-bench/peers/c_relay.c and pass --c-relay PATH (make bench does)")
            }
            return try await run(seconds: settings.seconds, streamMiB: settings.streamMiB, cRelay: cRelay)
        }
    }

    static func run(seconds: Double, streamMiB: Int, cRelay: String) async throws -> Bool {
        let directory = try TestPaths.makeTemporaryDirectory(prefix: "enclava-bench-relay").path
        let enclaveSocket = directory + "/enclave.sock"
        let enclave = try await TTRPCServer.bind(unixPath: enclaveSocket, handler: EchoEnclave())
        let muxer = try FakeHybridVsockMuxer(path: directory + "/vmm.sock", maxConnections: 256)
        muxer.listen(port: 1024, unixPath: enclaveSocket)
        var processes: [Process] = []
        func stopAll() {
            for process in processes where process.isRunning { process.interrupt(); process.waitUntilExit() }
            processes = []
            muxer.stop()
        }
        defer { stopAll() }
        let bin = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")).deletingLastPathComponent()
        let enclava = bin.appendingPathComponent("enclava").path
        func start(_ executable: String, _ arguments: [String], ready: String) throws -> Process {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            processes.append(process)
            var seen = ""
            while !seen.contains(ready) {
                let chunk = output.fileHandleForReading.availableData
                guard !chunk.isEmpty else { throw BenchError("\(executable) exited before it was ready") }
                seen += String(decoding: chunk, as: UTF8.self)
            }
            return process
        }
        let cPort = ServedWorld.freePort()
        _ = try start(cRelay, ["\(cPort)", enclaveSocket], ready: "ready")
        let unixPort = ServedWorld.freePort()
        _ = try start(enclava, ["serve", "--enclave", "unix:\(enclaveSocket)", "--listen", "127.0.0.1:\(unixPort)",
                                "--log-level", "error", "--max-connections", "1024"], ready: "enclava serve: ready")
        let hvsockPort = ServedWorld.freePort()
        _ = try start(enclava, ["serve", "--enclave", "hvsock:\(muxer.path):1024", "--listen", "127.0.0.1:\(hvsockPort)",
                                "--log-level", "error", "--max-connections", "1024"], ready: "enclava serve: ready")
        let paths = [Path(name: "direct (no relay, unix)", endpoint: .unix(enclaveSocket)),
                     Path(name: "C relay (peer, tcp→unix)", endpoint: .tcp("127.0.0.1", cPort)),
                     Path(name: "enclava serve, unix", endpoint: .tcp("127.0.0.1", unixPort)),
                     Path(name: "enclava serve, hvsock (fake VMM)", endpoint: .tcp("127.0.0.1", hvsockPort))]
        print("# enclava-bench relay: \(seconds) s per figure; Health = 64-byte round trips/s; stream = \(streamMiB) × 1 MiB Infer echoed, GB/s of payload both ways")
        print("# path                                   health×1   health×32   stream GB/s   (ratio to the C relay)")
        var peer: (Double, Double, Double)?
        var direct = (1.0, 1.0, 1.0)
        for path in paths {
            FileHandle.standardError.write(Data("# relay: measuring \(path.name)…\n".utf8))
            let one = try await healthRate(path.endpoint, connections: 1, seconds: seconds)
            let many = try await healthRate(path.endpoint, connections: 32, seconds: seconds)
            let stream = try await streamRate(path.endpoint, mebibytes: streamMiB)
            if path.name.hasPrefix("C relay") { peer = (one, many, stream) }
            if path.name.hasPrefix("direct") { direct = (one, many, stream) }
            var line = path.name.padding(toLength: 40, withPad: " ", startingAt: 0)
                + String(format: "%9.0f   %9.0f   %11.2f", one, many, stream)
            if let peer, path.name.hasPrefix("enclava") {
                line += String(format: "   (%.2f, %.2f, %.2f)", one / peer.0, many / peer.1, stream / peer.2)
            }
            print("relay " + line)
            fflush(nil)
        }
        FileHandle.standardError.write(Data("# relay: measuring the ocall edge…\n".utf8))
        let (one, many, stream) = try ocallRates(seconds: seconds, streamMiB: streamMiB)
        print("relay " + "ocall edge (in-process, same echo)".padding(toLength: 40, withPad: " ", startingAt: 0)
              + String(format: "%9.0f   %9.0f   %11.2f", one, many, stream)
              + String(format: "   (%.1f×, %.1f× the direct unix socket's round trips)", one / direct.0, many / direct.1))
        fflush(nil)
        stopAll()
        await enclave.close()
        try? FileManager.default.removeItem(atPath: directory)
        return true
    }

    /// Health calls per second over `connections` connections, each calling in a loop for `seconds`.
    static func healthRate(_ endpoint: TTRPCEndpoint, connections: Int, seconds: Double) async throws -> Double {
        var clients: [TTRPCClient] = []
        for _ in 0..<connections { clients.append(try await TTRPCClient.connect(to: endpoint)) }
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        let start = ContinuousClock.now
        let total = try await withThrowingTaskGroup(of: Int.self) { group in
            for client in clients {
                group.addTask {
                    var count = 0
                    while ContinuousClock.now < deadline {
                        _ = try await client.call(.health, Enclava_V1_HealthRequest(), as: Enclava_V1_HealthResponse.self)
                        count += 1
                    }
                    return count
                }
            }
            return try await group.reduce(0, +)
        }
        let elapsed = ContinuousClock.now - start
        for client in clients { await client.close() }
        return Double(total) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }

    /// GB/s of payload (requests and echoed answers) for `mebibytes` 1 MiB Infer frames, 4 in flight on one connection.
    static func streamRate(_ endpoint: TTRPCEndpoint, mebibytes: Int) async throws -> Double {
        let client = try await TTRPCClient.connect(to: endpoint, maxFrameBytes: 2 << 20)
        let request = { () -> Enclava_V1_InferRequest in
            var request = Enclava_V1_InferRequest()
            request.ciphertext = Data(repeating: 0x5C, count: 1 << 20)
            return request
        }()
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<4 {
                group.addTask {
                    for _ in stride(from: lane, to: mebibytes, by: 4) {
                        let answer = try await client.call(.infer, request, as: Enclava_V1_InferResponse.self)
                        guard answer.ciphertext.count == 1 << 20 else { throw BenchError("the echo lost bytes") }
                    }
                }
            }
            try await group.waitForAll()
        }
        let elapsed = ContinuousClock.now - start
        await client.close()
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Double(2 * mebibytes << 20) / seconds / 1e9
    }
}

/// The stand-in enclave of the relay benchmark: Health answers READY; Infer echoes its ciphertext.
struct EchoEnclave: TTRPCServiceHandler {
    func handle(method: String, service: String, payload: [UInt8]) async -> Result<[UInt8], RPCError> {
        switch EnclaveService.Method(rawValue: method) {
        case .health:
            var response = Enclava_V1_HealthResponse()
            response.state = .ready
            return Result { try response.serializedBytes() }.mapError { RPCError(.internal, reason: "ENCODE", message: "\($0)") }
        case .infer:
            guard let request = try? Enclava_V1_InferRequest(serializedBytes: payload) else {
                return .failure(RPCError(.invalidArgument, reason: "BAD_REQUEST", message: "not an InferRequest"))
            }
            var response = Enclava_V1_InferResponse()
            response.ciphertext = request.ciphertext
            return Result { try response.serializedBytes() }.mapError { RPCError(.internal, reason: "ENCODE", message: "\($0)") }
        default:
            return .failure(RPCError(.unimplemented, reason: "UNIMPLEMENTED", message: method))
        }
    }
}
