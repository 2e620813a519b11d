import EnclavaCrypto
import Foundation
import Synchronization
import Testing
@testable import EnclavePlatform

@Suite struct ConfigFSTSMTests {
    @Test func aRequestWritesInblobReadsOutblobAndRemovesItsEntry() throws {
        let kernel = try FakeTSMKernel(provider: "sev_guest")
        let aux = [UInt8](repeating: 0xAB, count: 100)
        kernel.configure {
            $0.produce = { inblob, level in .success([UInt8(level)] + inblob.reversed()) }
            $0.auxblob = aux
        }
        let inblob = SecureRandom.bytes(count: 64)
        let report = try kernel.tsm.report(inblob: inblob, privilegeLevel: 2, expectedProvider: .sevGuest)
        #expect(report.provider == "sev_guest")
        #expect(report.outblob == [2] + inblob.reversed())
        #expect(report.auxblob == aux)
        #expect(report.generation == 2)  // one write to inblob, one to privlevel
        let state = kernel.snapshot
        #expect(state.created.count == 1 && state.removed == state.created)
        #expect(state.inblobs[state.created[0]] == inblob)
        #expect(state.privlevels[state.created[0]] == 2)
        #expect(state.created[0].hasPrefix(kernel.root + "/enclava-\(getpid())-"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: kernel.root).isEmpty)
    }

    @Test func eachRequestUsesItsOwnEntry() throws {
        let kernel = try FakeTSMKernel(provider: "tdx_guest")
        for _ in 0..<3 { _ = try kernel.tsm.report(inblob: [UInt8](repeating: 7, count: 64)) }
        let state = kernel.snapshot
        #expect(Set(state.created).count == 3)
        #expect(state.removed.count == 3)
        // Without privlevel only inblob is written; TDX has no auxblob.
        #expect(state.generations.values.allSatisfy { $0 == 1 })
    }

    @Test func concurrentRequestsEachGetTheirOwnReport() throws {
        let kernel = try FakeTSMKernel(provider: "tdx_guest")
        let tsm = kernel.tsm
        let results = Mutex<[Int: [UInt8]]>([:])
        DispatchQueue.concurrentPerform(iterations: 16) { index in
            let inblob = [UInt8](repeating: UInt8(index), count: 64)
            if let report = try? tsm.report(inblob: inblob) { results.withLock { $0[index] = report.outblob } }
        }
        let outblobs = results.withLock { $0 }
        #expect(outblobs.count == 16)
        #expect(outblobs.allSatisfy { $0.value == [UInt8](repeating: UInt8($0.key), count: 64) })
        #expect(Set(kernel.snapshot.created).count == 16 && kernel.snapshot.removed.count == 16)
    }

    @Test func anotherWriterIsDetectedAndTheRequestRetriedOnAFreshEntry() throws {
        let kernel = try FakeTSMKernel()
        kernel.configure { $0.interferingWrites = 1 }
        let report = try kernel.tsm.report(inblob: [UInt8](repeating: 1, count: 64))
        #expect(report.outblob == [UInt8](repeating: 1, count: 64))
        let state = kernel.snapshot
        #expect(state.created.count == 2 && state.removed.count == 2)
        #expect(state.outblobReads == 2)
    }

    @Test func anotherWriterOnEveryAttemptIsAConflict() throws {
        let kernel = try FakeTSMKernel()
        kernel.configure { $0.interferingWrites = ConfigFSTSM.maxAttempts }
        let error = #expect(throws: PlatformError.self) { try kernel.tsm.report(inblob: [UInt8](repeating: 1, count: 64)) }
        #expect(error?.code == .conflict)
        #expect(error?.message.contains("generation 2, expected 0 + 1") == true)
        #expect(kernel.snapshot.removed.count == ConfigFSTSM.maxAttempts)
    }

    @Test(arguments: [0, 1, 32, 63, 65, 128])
    func inblobMustBe64Bytes(count: Int) throws {
        let kernel = try FakeTSMKernel()
        let error = #expect(throws: PlatformError.self) { try kernel.tsm.report(inblob: [UInt8](repeating: 3, count: count)) }
        #expect(error?.code == .invalidReportData)
        #expect(kernel.snapshot.created.isEmpty)
    }

    @Test func kernelErrorsBecomeClearPlatformErrors() throws {
        let inblob = [UInt8](repeating: 5, count: 64)
        // No provider registered: ENXIO on `provider`.
        let none = try FakeTSMKernel(provider: nil)
        let noProvider = #expect(throws: PlatformError.self) { try none.tsm.report(inblob: inblob) }
        #expect(noProvider?.code == .unavailable)
        #expect(noProvider?.message.contains("ENXIO") == true && noProvider?.message.contains("modprobe") == true)
        #expect(none.snapshot.removed.count == 1)

        // The wrong TEE: a TDX guest asked for SEV-SNP evidence.
        let tdx = try FakeTSMKernel(provider: "tdx_guest")
        let wrong = #expect(throws: PlatformError.self) { try tdx.tsm.report(inblob: inblob, expectedProvider: .sevGuest) }
        #expect(wrong?.code == .unavailable && wrong?.message.contains("tdx_guest") == true)

        // EBUSY on writes.
        let busy = try FakeTSMKernel()
        busy.configure { $0.busy = true }
        let busyError = #expect(throws: PlatformError.self) { try busy.tsm.report(inblob: inblob) }
        #expect(busyError?.code == .busy && busyError?.message.contains("EBUSY") == true)

        // privlevel below the floor: EINVAL, reported with the floor.
        let floor = try FakeTSMKernel()
        floor.configure { $0.privlevelFloor = 2 }
        let level = #expect(throws: PlatformError.self) { try floor.tsm.report(inblob: inblob, privilegeLevel: 1) }
        #expect(level?.code == .evidenceFailed && level?.message.contains("privlevel_floor (2)") == true)
        let outOfRange = #expect(throws: PlatformError.self) { try floor.tsm.report(inblob: inblob, privilegeLevel: 4) }
        #expect(outOfRange?.code == .evidenceFailed)

        // Errors on outblob: the provider refusing (EINVAL), the firmware failing (ENXIO), a quote too big (EFBIG),
        // the host's quote service not answering (EIO).
        let cases: [(Int32, PlatformError.Code)] = [(EINVAL, .evidenceFailed), (ENXIO, .unavailable), (EFBIG, .invalidEvidence),
                                                    (EIO, .evidenceFailed), (ETIMEDOUT, .evidenceFailed), (EBUSY, .busy)]
        for (code, expected) in cases {
            let kernel = try FakeTSMKernel()
            kernel.configure { $0.outblobErrno = code }
            let error = #expect(throws: PlatformError.self) { try kernel.tsm.report(inblob: inblob) }
            #expect(error?.code == expected, "errno \(code)")
            #expect(error?.message.contains(SystemCallError.describe(code)) == true)
            #expect(kernel.snapshot.removed.count == 1, "the entry is removed after errno \(code)")
        }
    }

    @Test func emptyOrOversizedBlobsAreRefused() throws {
        let inblob = [UInt8](repeating: 5, count: 64)
        let empty = try FakeTSMKernel()
        empty.configure { $0.produce = { _, _ in .success([]) } }
        #expect(throws: PlatformError.self) { try empty.tsm.report(inblob: inblob) }

        let huge = try FakeTSMKernel()
        huge.configure { $0.produce = { _, _ in .success([UInt8](repeating: 1, count: ConfigFSTSM.maxOutblobByteCount + 1)) } }
        let error = #expect(throws: PlatformError.self) { try huge.tsm.report(inblob: inblob) }
        #expect(error?.code == .invalidEvidence)
    }

    @Test func aMissingTreeOrAMalformedGenerationIsAClearError() throws {
        let missing = ConfigFSTSM(root: "/nonexistent/tsm/report")
        #expect(!missing.isPresent)
        let error = #expect(throws: PlatformError.self) { try missing.report(inblob: [UInt8](repeating: 0, count: 64)) }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("/nonexistent/tsm/report") == true && error?.message.contains("configfs") == true)

        // A tree that is only a folder (no kernel behind it): `provider` is empty.
        let plain = try PlatformTestData.temporaryDirectory("plain-tsm")
        defer { try? FileManager.default.removeItem(atPath: plain) }
        let emptyProvider = #expect(throws: PlatformError.self) {
            try ConfigFSTSM(root: plain).report(inblob: [UInt8](repeating: 0, count: 64))
        }
        #expect(emptyProvider?.code == .unavailable)
        #expect(try FileManager.default.contentsOfDirectory(atPath: plain).isEmpty)
    }
}
