import EnclavaAttestation
import EnclavaClient
import EnclavaCrypto
import EnclavaImage
import EnclavaWire
import EnclavePlatform
import Foundation
import EnclavaTesting
import Logging
import Synchronization
@testable import EnclaveRuntime

/// The pieces every in-process end-to-end test shares, made once: a simulated platform initialised in a
/// temporary `ENCLAVA_HOME`, whose measurement is this test binary (`/proc/self/exe`, the executable that
/// runs the runtime here), and the fraud-detector image packaged `.sealedForSim` for that measurement.
final class EndToEndWorld: Sendable {
    static let shared: Result<EndToEndWorld, any Error> = Result { try EndToEndWorld() }

    let directory: String
    let simulated: SimulatedPlatform
    let platform: SimPlatform
    let imagePath: String
    let manifestDigest: [UInt8]
    let signer: ECDSAPrivateKey

    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static var fraudDetector: URL { packageRoot.appendingPathComponent("Manifests/fraud-detector") }

    private init() throws {
        directory = try makeTemporaryDirectory("enclava-rt")
        let home = directory + "/home"
        simulated = try SimulatedPlatform.initialize(home: home, force: false)
        platform = try SimPlatform(home: home)
        signer = try ECDSAPrivateKey.generate(curve: .p384)
        imagePath = directory + "/fraud.eimg"
        let summary = try Self.package(manifest: Self.fraudDetector.appendingPathComponent("manifest.toml").path,
                                       output: imagePath, simulated: simulated, measurement: platform.measurement,
                                       signer: signer)
        manifestDigest = summary
    }

    /// Packages a manifest sealed for the simulated platform at `measurement`; returns the manifest digest.
    static func package(manifest: String, output: String, simulated: SimulatedPlatform, measurement: [UInt8],
                        signer: ECDSAPrivateKey) throws -> [UInt8] {
        let sealingKey = try simulated.sealingKey(measurement: measurement, purpose: EnclavaProtocolLabels.dekSealingPurpose)
        _ = try ImagePackager.package(manifestPath: manifest, signer: signer, outputPath: output,
                                      wrapping: .sealedForSim(sealingKey: sealingKey, measurement: measurement))
        return try EnclaveImage.open(path: output).manifestDigest
    }

    /// A policy that pins this world's measurement, manifest digest and simulated root.
    func policy(measurement: [UInt8]? = nil, manifestDigest: [UInt8]? = nil) -> AttestationPolicy {
        AttestationPolicy(allowedPlatforms: [.sevSNP], allowSimulation: true, allowDebug: false,
                          expectedMeasurements: [hex(measurement ?? platform.measurement)],
                          expectedManifestDigests: [hex(manifestDigest ?? self.manifestDigest)],
                          simulatedRootFingerprints: [hex(simulated.ark.sha256Fingerprint)])
    }

    var verifier: EvidenceVerifier { EvidenceVerifier(simulatedRoots: [simulated.ark]) }

    /// Starts a runtime on a fresh client socket, with its control socket at ``controlPath(of:)``.
    /// How a test's client reaches the runtime.
    enum Transport: String, CaseIterable, Sendable, CustomStringConvertible {
        /// The runtime's Unix socket, directly (as `enclava serve` does).
        case unix
        /// Through a fake Firecracker-style VMM: `hvsock:VMM_SOCKET:1024` (issue 11).
        case hvsock
        /// Across the in-process ocall edge: each frame copied through `enclava_edge_call` into the frame processor
        /// (``OcallEdgeRelay``, issue 11).
        case ocall

        var description: String { rawValue }
    }

    /// The guest port the fake VMM relays to the runtime.
    static let guestPort: UInt32 = 1024

    func startRuntime(imagePath: String? = nil, engine: (any InferenceEngine)? = nil,
                      platform: (any TEEPlatform)? = nil,
                      sessionLimits: SessionStateMachine.Limits = .init(), transport: Transport = .unix,
                      socket chosenSocket: String? = nil) async throws -> (EnclaveRuntime, TTRPCEndpoint) {
        let socket = chosenSocket ?? directory + "/rt-\(UUID().uuidString.prefix(8)).sock"
        var options = RuntimeOptions(listen: .unix(path: socket), imagePath: imagePath ?? self.imagePath,
                                     simHome: directory + "/home", allowUnlockedMemory: true, hardenProcess: false,
                                     sessionLimits: sessionLimits)
        options.control = .unix(path: Self.controlPath(of: socket))
        var logger = Logger(label: "enclava.runtime.test")
        logger.logLevel = .warning
        let runtime = try await EnclaveRuntime.start(options: options, platform: platform ?? self.platform,
                                                     engine: engine, logger: logger)
        switch transport {
        case .unix:
            return (runtime, .unix(socket))
        case .hvsock:
            return (runtime, try Self.vmm(relayingTo: socket))
        case .ocall:
            let maxFrameBytes = try EnclaveImage.open(path: options.imagePath).manifest.runtime.maxFrameBytes
            return (runtime, try await OcallEdgeRelay.serve(core: runtime.core, maxFrameBytes: maxFrameBytes,
                                                            path: socket + Self.ocallSuffix))
        }
    }

    /// A fake VMM whose guest port ``guestPort`` is the runtime socket `socket` (one per socket, kept for the
    /// rest of the test process, so that a restarted runtime on the same socket is reached through it again).
    static func vmm(relayingTo socket: String) throws -> TTRPCEndpoint {
        try muxers.withLock { muxers in
            if let muxer = muxers[socket] { return .hvsock(path: muxer.path, port: guestPort) }
            let muxer = try FakeHybridVsockMuxer(path: socket + ".vmm")
            muxer.listen(port: guestPort, unixPath: socket)
            muxers[socket] = muxer
            return .hvsock(path: muxer.path, port: guestPort)
        }
    }

    private static let muxers = Mutex<[String: FakeHybridVsockMuxer]>([:])
}

extension EndToEndWorld {
    /// The control socket ``startRuntime(imagePath:engine:platform:sessionLimits:)`` gives a runtime whose
    /// client socket is `socket`.
    static func controlPath(of socket: String) -> String { socket + ".ctl" }

    /// What the ``Transport/ocall`` relay's socket adds to the runtime's.
    static let ocallSuffix = ".ocall"

    /// The control endpoint of a runtime started on `endpoint`.
    static func control(of endpoint: TTRPCEndpoint) -> TTRPCEndpoint {
        switch endpoint {
        case .unix(let path) where path.hasSuffix(ocallSuffix): .unix(controlPath(of: String(path.dropLast(ocallSuffix.count))))
        case .unix(let path): .unix(controlPath(of: path))
        case .hvsock(let vmm, _) where vmm.hasSuffix(".vmm"): .unix(controlPath(of: String(vmm.dropLast(4))))
        default: endpoint
        }
    }
}

func makeTemporaryDirectory(_ prefix: String) throws -> String {
    let path = "/tmp/\(prefix)-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// A platform that claims another measurement than the executable's (a runtime that is not the one the
/// image was sealed for).
struct RemeasuredPlatform: TEEPlatform {
    let base: SimPlatform
    let measurement: [UInt8]
    var backend: String { base.backend }
    var isSimulated: Bool { true }
    func evidence(reportData: [UInt8]) throws -> Evidence { try base.evidence(reportData: reportData) }
    func sealingKey(purpose: String) throws -> SecureBytes {
        try base.platform.sealingKey(measurement: measurement, purpose: purpose)
    }
}

/// The golden inputs and outputs of the fraud detector (computed by onnxruntime).
struct Golden {
    let inputs: [String: Enclava_V1_Tensor]
    let outputs: [String: Enclava_V1_Tensor]

    static func load() throws -> Golden {
        let data = try Data(contentsOf: EndToEndWorld.fraudDetector.appendingPathComponent("golden.json"))
        let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        func tensors(_ key: String) throws -> [String: Enclava_V1_Tensor] {
            let map = object[key] as! [String: Any]
            return try map.mapValues { value in
                let json = try JSONSerialization.data(withJSONObject: value)
                return try TensorJSON.tensor(fromJSON: String(decoding: json, as: UTF8.self))
            }
        }
        return Golden(inputs: try tensors("inputs"), outputs: try tensors("outputs"))
    }
}
