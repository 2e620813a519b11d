import EnclavaCrypto
import EnclavaMeasure
import EnclavaTesting
import Foundation
import Testing

/// MRTD from TDVF metadata. No published MRTD of an OVMF build we can obtain was found, so the values are
/// checked against a second, independent implementation (Python's hashlib, run from the `make measure-venv`
/// interpreter) written from the TDX module spec's PAGE.ADD / MR.EXTEND records, on Debian's OVMF.fd (a TDVF
/// too) and on synthetic TDVF images, in both page orders; and the records are checked field by field.
struct TDXMRTDTests {
    /// The reference: parses the footer table and TDVF descriptor itself and hashes the records.
    static let reference = #"""
import hashlib, struct, sys, uuid
fw = open(sys.argv[1], 'rb').read(); order = sys.argv[2]
def guid(s): return uuid.UUID(s).bytes_le
end = len(fw) - 32
assert fw[end-16:end] == guid('96b582de-1fb2-45f7-baea-a366c55a082d')
size = struct.unpack_from('<H', fw, end-18)[0]
table = fw[end-18-(size-18):end-18]; entries = {}
while len(table) >= 18:
    n, g = struct.unpack_from('<H', table, len(table)-18)[0], table[-16:]
    entries[g] = table[-n:-18]; table = table[:-n]
off = len(fw) - struct.unpack_from('<I', entries[guid('e47a6535-984a-4798-865e-4685a7bf8ec2')])[0]
sig, _, ver, count = struct.unpack_from('<4sIII', fw, off)
h = hashlib.sha384()
def rec(name, gpa): return name.ljust(16, b'\0') + struct.pack('<Q', gpa) + bytes(104)
for i in range(count):
    data_off, raw, addr, mem, typ, attr = struct.unpack_from('<IIQQII', fw, off+16+32*i)
    pages = range(mem // 4096)
    def add(p):
        if not attr & 2: h.update(rec(b'MEM.PAGE.ADD', addr + p*4096))
    def ext(p):
        if attr & 1:
            for c in range(16):
                o = p*4096 + c*256
                h.update(rec(b'MR.EXTEND', addr + o)); h.update(fw[data_off+o:data_off+o+256])
    if order == 'per-page':
        for p in pages: add(p); ext(p)
    else:
        for p in pages: add(p)
        for p in pages: ext(p)
print(h.hexdigest())
"""#

    static var python: URL { SevSnpMeasure.root.appendingPathComponent(".build/measure-venv/bin/python") }

    static func referenceMRTD(_ path: String, order: TDXMeasurement.PageAddOrder) async throws -> String {
        _ = SevSnpMeasure.availability   // installs the venv when missing
        let result = try await TestProcess.runOffPool(python, ["-c", reference, path, order.rawValue])
        guard result.status == 0 else { throw SevSnpMeasure.ToolError("reference MRTD failed: \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func syntheticTDVF() -> SyntheticOVMF {
        var image = SyntheticOVMF()
        image.pages = 40
        image.tdxSections = [
            .init(dataOffset: 0, rawSize: 0x8000, address: 0xFFD8_0000, memorySize: 0x8000, type: 0, attributes: 1),   // BFV, measured
            .init(dataOffset: 0x8000, rawSize: 0x2000, address: 0xFFD8_8000, memorySize: 0x2000, type: 1, attributes: 0), // CFV, added only
            .init(dataOffset: 0, rawSize: 0, address: 0x809000, memorySize: 0x2000, type: 2, attributes: 0),            // TD_HOB
            .init(dataOffset: 0, rawSize: 0, address: 0x800000, memorySize: 0x9000, type: 3, attributes: 0),            // TempMem
            .init(dataOffset: 0, rawSize: 0, address: 0x900000, memorySize: 0x4000, type: 4, attributes: 2),            // PermMem, PAGE.AUG
        ]
        return image
    }

    @Test(.enabled(if: SevSnpMeasure.shouldRun, "PyPI is unreachable, so the reference interpreter cannot be installed"),
          arguments: TDXMeasurement.PageAddOrder.allCases)
    func syntheticTDVFAgreesWithTheReference(_ order: TDXMeasurement.PageAddOrder) async throws {
        let work = try TestPaths.makeTemporaryDirectory(prefix: "enclava-tdx")
        defer { try? FileManager.default.removeItem(at: work) }
        let path = work.appendingPathComponent("TDVF.fd")
        try Self.syntheticTDVF().write(to: path)
        let ours = Hex.encode(try TDXMeasurement(firmware: try OVMFFirmware(path: path.path), order: order).mrtd())
        #expect(ours == (try await Self.referenceMRTD(path.path, order: order)))
    }

    @Test(.enabled(if: SevSnpMeasure.shouldRun && FileManager.default.fileExists(atPath: "/usr/share/ovmf/OVMF.fd"),
                   "needs Debian's ovmf package and the reference interpreter (PyPI reachable)"),
          arguments: TDXMeasurement.PageAddOrder.allCases)
    func debianOVMFAgreesWithTheReference(_ order: TDXMeasurement.PageAddOrder) async throws {
        let path = "/usr/share/ovmf/OVMF.fd"
        let ours = Hex.encode(try TDXMeasurement(firmware: try OVMFFirmware(path: path), order: order).mrtd())
        #expect(ours == (try await Self.referenceMRTD(path, order: order)))
    }

    /// The two orders differ whenever a section is both added and extended over more than one page.
    @Test func theOrdersDiffer() throws {
        let firmware = try OVMFFirmware(bytes: Self.syntheticTDVF().build(), name: "t.fd")
        #expect(try TDXMeasurement(firmware: firmware, order: .perPage).mrtd() != TDXMeasurement(firmware: firmware, order: .twoPass).mrtd())
    }

    /// PAGE.AUG sections are not part of MRTD: dropping one leaves MRTD unchanged.
    @Test func pageAugSectionsAreNotMeasured() throws {
        var without = Self.syntheticTDVF()
        without.tdxSections!.removeLast()
        let a = try TDXMeasurement(firmware: try OVMFFirmware(bytes: Self.syntheticTDVF().build(), name: "a")).mrtd()
        let b = try TDXMeasurement(firmware: try OVMFFirmware(bytes: without.build(), name: "b")).mrtd()
        #expect(a == b)
    }

    @Test func firmwareWithoutTDXMetadataIsRefused() throws {
        let firmware = try OVMFFirmware(bytes: SyntheticOVMF().build(), name: "sev-only.fd")
        let error = #expect(throws: MeasurementError.self) { try TDXMeasurement(firmware: firmware).mrtd() }
        #expect(error?.code == .firmwareLacksTDX)
        #expect(error?.message.hasPrefix("sev-only.fd has no TDX metadata, so it cannot launch a TD; use a TDVF") == true)
    }

    /// A hostile section that asks MR.EXTEND to read past the image.
    @Test func aSectionMeasuringOutsideTheImageIsRefused() throws {
        var image = Self.syntheticTDVF()
        image.tdxSections![0].dataOffset = 0x20000
        image.tdxSections![0].rawSize = 0x10000
        image.tdxSections![0].memorySize = 0x10000
        let firmware = try OVMFFirmware(bytes: image.build(), name: "t.fd")
        let error = #expect(throws: MeasurementError.self) { try firmware.tdxMetadataSections() }
        #expect(error?.message.contains("section 0 measures data outside the image") == true)
    }

    @Test func aHostilePageCountIsRefusedBeforeHashing() throws {
        var image = Self.syntheticTDVF()
        image.tdxSections![2].memorySize = 0x1_0000_0000_0000
        let firmware = try OVMFFirmware(bytes: image.build(), name: "t.fd")
        let error = #expect(throws: MeasurementError.self) { try firmware.tdxMetadataSections() }
        #expect(error?.message.contains("sections add more than 65536 pages") == true)
    }
}
