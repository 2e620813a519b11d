import EnclavaAttestation
import EnclavaCrypto
import EnclavaTesting
import EnclavaWire
import EnclaveInference
import EnclavePlatform
import Foundation
import Logging
import Testing
@testable import EnclaveRuntime

/// A hardware platform double (not simulated), for the refusal of --allow-unlocked-memory.
struct HardwarePlatformDouble: TEEPlatform {
    var backend: String { "sev-snp" }
    var measurement: [UInt8] { [UInt8](repeating: 0xCD, count: 48) }
    var isSimulated: Bool { false }
    func evidence(reportData: [UInt8]) throws -> Evidence { Evidence(platform: .sevSNP, blob: reportData, certificates: []) }
    func sealingKey(purpose: String) throws -> SecureBytes { SecureBytes(count: 32) }
}

/// A float32 payload of `bytes` bytes (1, 2, 3, … wrapping, never all zero) under input `name`.
func patternPayload(_ name: String = "x", bytes: Int) -> Enclava_V1_InferPayload {
    var tensor = Enclava_V1_Tensor()
    tensor.dtype = .float32
    tensor.shape = [1, Int64(bytes / 4)]
    tensor.data = Data((0..<bytes).map { UInt8(truncatingIfNeeded: $0 % 255 + 1) })
    var payload = Enclava_V1_InferPayload()
    payload.inputs[name] = tensor
    return payload
}

/// DESIGN.md §5, secrets outside sealed regions: request and response plaintext in secure memory, the
/// unavoidable parser copies wiped, and unlocked memory reported to the host (Health) and to the client
/// (inside every encrypted result).
@Suite struct MemoryProtectionTests {
    /// A decrypted request's tensors are parsed into locked, dump-excluded, wiped-on-fork pages.
    @Test func decryptedTensorsLiveInSecretMemory() throws {
        let payload = patternPayload(bytes: 4096)
        let plaintext = try payload.secureSerializedBytes()
        guard case .inputs(let inputs, _, _) = InferenceJob.prepare(plaintext, limits: TensorLimits()) else {
            Issue.record("the payload was refused")
            return
        }
        let tensor = try #require(inputs["x"])
        #expect(tensor.data.secureBytes.memoryProtection == .all)
        #expect(Array(tensor.data.prefix(4)) == [1, 2, 3, 4])
        let map = try ProcessMemoryMap()
        let mapping = try #require(tensor.data.withUnsafeBytes { map.mapping(containing: $0.baseAddress!) })
        #expect(mapping.isSecretMemory, "VmFlags \(mapping.flags.sorted()), Locked \(mapping.lockedKiB) kB")
    }

    /// The copy SwiftProtobuf makes when it parses tensor bytes is zeroed in place, not copied and dropped.
    @Test func parsedTensorBytesAreWipedInPlace() throws {
        var payload = patternPayload(bytes: 4096)
        payload.inputs["y"] = patternPayload(bytes: 256).inputs["x"]
        let before = payload.inputs["x"]!.data.withUnsafeBytes { UInt(bitPattern: $0.baseAddress!) }
        #expect(payload.inputs["x"]!.data.contains { $0 != 0 })
        PlaintextWipe.wipeTensors(of: &payload)
        let after = payload.inputs["x"]!.data.withUnsafeBytes { UInt(bitPattern: $0.baseAddress!) }
        #expect(after == before, "the wipe must not copy the bytes first")
        #expect(payload.inputs["x"]!.data.count == 4096)
        #expect(payload.inputs["x"]!.data.allSatisfy { $0 == 0 })
        #expect(payload.inputs["y"]!.data.allSatisfy { $0 == 0 })
    }

    /// Results are serialized straight from the outputs' secure memory: the wire tensor shares it.
    @Test func resultTensorsShareSecureMemory() throws {
        let output = HostTensor(float32: (0..<1000).map(Float.init), shape: [1, 1000])
        let wire = TensorConversion.wireTensor(output)
        let wireBase = wire.data.withUnsafeBytes { UInt(bitPattern: $0.baseAddress!) }
        let secureBase = output.data.withUnsafeBytes { UInt(bitPattern: $0.baseAddress!) }
        #expect(wireBase == secureBase)
        #expect(wire.data.count == 4000)
        let map = try ProcessMemoryMap()
        let mapping = try #require(wire.data.withUnsafeBytes { map.mapping(containing: $0.baseAddress!) })
        #expect(mapping.isSecretMemory)
        // and the serialized result decodes to the same values
        var result = Enclava_V1_InferResult()
        result.outputs["y"] = wire
        let back = try Enclava_V1_InferResult(serializedBytes: try result.secureSerializedBytes().unsafeCopyToArray())
        #expect(back.outputs["y"]?.data == Data(output.data))
    }

    /// Small result tensors are inline copies in the message: zeroed once serialized. Large ones share the
    /// outputs' secure memory, which the wipe must not touch.
    @Test func smallResultTensorsAreWipedLargeOnesLeftAlone() throws {
        let small = HostTensor(float32: [1.5, 2.5, 3.5], shape: [3])
        let large = HostTensor(float32: (0..<256).map(Float.init), shape: [256])
        var result = Enclava_V1_InferResult()
        result.outputs["small"] = TensorConversion.wireTensor(small)
        result.outputs["large"] = TensorConversion.wireTensor(large)
        let serialized = try result.secureSerializedBytes()
        PlaintextWipe.wipeInlineTensors(of: &result)
        #expect(result.outputs["small"]?.data == Data(count: 12))
        #expect(result.outputs["large"]?.data == Data(large.data))
        #expect(large.float32Values == (0..<256).map(Float.init))
        #expect(small.float32Values == [1.5, 2.5, 3.5])
        let back = try Enclava_V1_InferResult(serializedBytes: serialized.unsafeCopyToArray())
        #expect(back.outputs["small"]?.data == Data(small.data))
    }

    /// Model inputs built inside the enclave (the tokenizer's ids) are in secure memory too.
    @Test func hostTensorsBuiltInTheEnclaveAreSecret() {
        #expect(HostTensor(int64: [1, 2, 3], shape: [3]).data.secureBytes.memoryProtection == .all)
        #expect(HostTensor(float32: [1, 2], shape: [2]).float32Values == [1, 2])
        #expect(HostTensor(bool: [true, false], shape: [2]).boolValues == [true, false])
    }

    @Test func healthReportsLockedMemoryByDefault() async {
        let core = await readyCore()
        let health = await core.healthResponse()
        #expect(!health.memoryUnlocked)
        #expect(health.memoryMessage.isEmpty)
    }

    /// The host's --allow-unlocked-memory is visible in Health and, where the host cannot strip it, inside
    /// every encrypted result.
    @Test func allowUnlockedMemoryIsReportedInHealthAndInEveryResult() async throws {
        let core = await readyCore()
        await core.setAllowUnlockedMemory(true)
        let health = await core.healthResponse()
        #expect(health.memoryUnlocked)
        #expect(health.memoryMessage.contains("--allow-unlocked-memory"))

        var client = try await ManualClient.open(core)
        let ok = try client.result(try await core.infer(try client.request(floatPayload())).get())
        #expect(ok.memoryUnlocked)
        let refused = try client.result(try await core.infer(try client.request(floatPayload(bytes: 7))).get())
        #expect(refused.hasError && refused.memoryUnlocked)
    }

    @Test func lockedEnclaveResultsSayLocked() async throws {
        let core = await readyCore()
        var client = try await ManualClient.open(core)
        let ok = try client.result(try await core.infer(try client.request(floatPayload())).get())
        #expect(!ok.memoryUnlocked)
    }

    @Test func reportMessageNamesEachReason() {
        let report = MemoryProtectionReport(allowUnlockedMemory: true, unlockedSecretBytes: 8192, secretsEverUnlocked: true,
                                            dumpExclusionFailures: 0, regionsEverUnlocked: 2)
        #expect(report.isUnlocked)
        #expect(report.message.contains("--allow-unlocked-memory"))
        #expect(report.message.contains("8 KiB unlocked now"))
        #expect(report.message.contains("2 sealed region(s)"))
        #expect(report.message.contains("RLIMIT_MEMLOCK"))
        let clean = MemoryProtectionReport(allowUnlockedMemory: false, unlockedSecretBytes: 0, secretsEverUnlocked: false,
                                           dumpExclusionFailures: 0, regionsEverUnlocked: 0)
        #expect(!clean.isUnlocked && clean.message.isEmpty)
        let heap = MemoryProtectionReport(allowUnlockedMemory: false, unlockedSecretBytes: 0, secretsEverUnlocked: false,
                                          dumpExclusionFailures: 0, regionsEverUnlocked: 0, openSSLHeapUnlocked: true)
        #expect(heap.isUnlocked && heap.message.contains("OpenSSL's secure heap could not be locked"))
    }

    /// The adversary's view of swap: after a request has been served, its plaintext (random bytes the test
    /// itself keeps only in locked memory) is nowhere in the process's unlocked memory — not in a live buffer,
    /// not in a freed one. The scanner finds an ordinary copy, so the test can fail.
    @Test func aServedRequestLeavesNoPlaintextInUnlockedMemory() async throws {
        let control = SecureBytes.random(count: 64)
        do {
            var copy = control.unsafeCopyToArray()
            let hits = try control.withUnsafeBytes { try ProcessMemoryMap().unlockedMappings(containing: $0) }
            #expect(!hits.isEmpty, "the scanner must find an ordinary heap copy")
            copy.withUnsafeMutableBytes { SecureMemory.wipe($0) }
        }

        let pattern = SecureBytes.random(count: 4096)
        let core = await readyCore()
        var client = try await ManualClient.open(core)
        var payload = Enclava_V1_InferPayload()
        var tensor = Enclava_V1_Tensor()
        tensor.dtype = .float32
        tensor.shape = [1, 1024]
        // The client's tensor bytes are the locked pattern itself (no copy).
        let base = pattern.withUnsafeBytes { UnsafeMutableRawPointer(mutating: $0.baseAddress!) }
        tensor.data = Data(bytesNoCopy: base, count: pattern.count, deallocator: .none)
        payload.inputs["x"] = tensor
        let plaintext = try payload.secureSerializedBytes()
        payload = Enclava_V1_InferPayload()
        tensor = Enclava_V1_Tensor()
        var request = Enclava_V1_InferRequest()
        request.sessionID = Data(client.sessionID)
        request.sequence = 0
        request.ciphertext = Data(try client.sender.seal(plaintext, aad: SessionKeySchedule.requestAAD(
            sessionID: client.sessionID, sequence: 0)))
        let response = try await core.infer(request).get()

        let opened = try client.schedule.openResponse([UInt8](response.ciphertext), sessionID: client.sessionID, sequence: 0)
        var result = try Enclava_V1_InferResult(secureBytes: opened)
        // Taken out (not copied) so that the wipe below happens in place.
        guard var output = result.outputs.removeValue(forKey: "x_out") else {
            Issue.record("the echo engine returned no x_out")
            return
        }
        let echoed = output.data.count == pattern.count && output.data.withUnsafeBytes { got in
            pattern.withUnsafeBytes { memcmp(got.baseAddress!, $0.baseAddress!, $0.count) == 0 }
        }
        #expect(echoed)
        PlaintextWipe.wipe(&output.data)  // the client's own parse copy

        let map = try ProcessMemoryMap()
        let found = pattern.withUnsafeBytes { bytes in
            [0..<64, 2048..<2112, 4032..<4096].flatMap { map.unlockedMappings(containing: UnsafeRawBufferPointer(rebasing: bytes[$0])) }
        }
        #expect(found.isEmpty, "request plaintext found in unlocked memory at mappings \(found.map { String($0, radix: 16) })")
    }

    /// Under a tight RLIMIT_MEMLOCK a large request is refused before it is decrypted, instead of stopping
    /// the enclave when its plaintext cannot be locked; CAP_IPC_LOCK (root) lifts the limit.
    @Test func lockHeadroomComesFromTheLimitAndVmLck() {
        let status = "Name:\tenclava-runtime\nVmLck:\t    2048 kB\nCapEff:\t0000000000000000\n"
        #expect(LockHeadroom.compute(limit: 8 << 20, status: status) == (8 << 20) - (2048 << 10))
        #expect(LockHeadroom.compute(limit: 1 << 20, status: status) == 0)
        let privileged = "VmLck:\t    2048 kB\nCapEff:\t000001ffffffffff\n"
        #expect(LockHeadroom.compute(limit: 8 << 20, status: privileged) == nil)
        #expect(LockHeadroom.admits(requestBytes: 1 << 20, headroom: 5 << 20))
        #expect(!LockHeadroom.admits(requestBytes: 2 << 20, headroom: 5 << 20))
        #expect(!LockHeadroom.admits(requestBytes: 1, headroom: 0))
        #expect(LockHeadroom.admits(requestBytes: 4 << 20, headroom: nil))
    }

    /// A hostile host cannot unlock a hardware enclave's secrets: the runtime refuses before it loads anything.
    @Test func hardwareBackendsRefuseUnlockedMemory() async throws {
        let directory = try makeTemporaryDirectory("enclava-mem")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let options = RuntimeOptions(listen: .unix(path: directory + "/rt.sock"), imagePath: directory + "/absent.eimg",
                                     simHome: directory, allowUnlockedMemory: true, hardenProcess: false)
        do {
            _ = try await EnclaveRuntime.start(options: options, platform: HardwarePlatformDouble(),
                                               logger: Logger(label: "test"))
            Issue.record("a hardware backend started with --allow-unlocked-memory")
        } catch let error as RuntimeError {
            #expect(error.code == .unlockedMemoryRefused)
            #expect(error.message.contains("sev-snp"))
            #expect(error.message.contains("RLIMIT_MEMLOCK"))
        }
    }
}
