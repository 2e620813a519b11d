import CEnclaveEdge
import EnclavaTesting
import Foundation
import Synchronization
import Testing

/// Issue 11: the host side of the ocall edge (`enclava_host_*` in CShims/CEnclaveEdge) against the real
/// `libEnclavaEnclave.so`, loaded into this test process as the bridge loads it: the library refuses a host that
/// speaks another ABI, a `read_image` that answers more than it was asked for or ends the image early, and the host
/// refuses, before entering the library, the buffers the library itself would refuse; the enclave bounds its client
/// connections. (Re-entry and a host rewriting its buffer during the call: ``EnclaveEdgeTests``.)
@Suite(.serialized) struct OcallEdgeHostTests {
    let fixture = CLIFixture.shared
    var library: String { fixture.bin.appendingPathComponent("libEnclavaEnclave.so").path }

    /// The ocalls' host: the image's bytes, and how to lie about them.
    final class Image: @unchecked Sendable {
        let bytes: [UInt8]
        var extra = 0          // added to every answered length
        var cutAt = Int.max    // bytes served before the "image" ends
        let reads = Atomic<Int>(0)
        init(_ bytes: [UInt8]) { self.bytes = bytes }
    }

    func load(_ image: Image, abiVersion: UInt32 = ENCLAVA_ENCLAVE_ABI_VERSION, home: String? = nil)
        -> (enclava_edge_status, OpaquePointer?, String) {
        var ocalls = enclava_edge_ocalls()
        ocalls.host = Unmanaged.passUnretained(image).toOpaque()
        ocalls.read_image = { context, offset, buffer, capacity, readLength in
            let image = Unmanaged<Image>.fromOpaque(context!).takeUnretainedValue()
            image.reads.add(1, ordering: .relaxed)
            let start = Int(offset)
            let count = max(0, min(capacity, min(image.bytes.count, image.cutAt) - start))
            for index in 0..<count { buffer![index] = image.bytes[start + index] }
            readLength!.pointee = count + image.extra
            return 0
        }
        var error = [CChar](repeating: 0, count: 512)
        var handle: OpaquePointer?
        let status = (home ?? fixture.home.path).withCString { simHome in
            var options = enclava_enclave_options()
            options.abi_version = abiVersion
            options.image_size = UInt64(image.bytes.count)
            options.max_connections = 2
            options.sim_home = simHome
            return enclava_host_load(library, 4 << 20, &options, &ocalls, &handle, &error, error.count)
        }
        return (status, handle, String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    func sealedImage() throws -> (Image, URL) {
        let folder = try TestPaths.makeTemporaryDirectory(prefix: "enclava-edge-host")
        let path = folder.appendingPathComponent("fraud.eimg").path
        _ = try fixture.expectSuccess(["package", "--manifest", fixture.demoDir.appendingPathComponent("manifest.toml").path,
                                       "--signer", fixture.signer.path, "--out", path, "--seal-for", "sim", "--runtime", library])
        return (Image([UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))), folder)
    }

    @Test func aHostOfAnotherABIVersionIsRefused() throws {
        let (status, handle, error) = load(Image([1, 2, 3]), abiVersion: ENCLAVA_ENCLAVE_ABI_VERSION + 1)
        #expect(status == ENCLAVA_EDGE_WRONG_ABI)
        #expect(handle == nil)
        #expect(error.contains("the host speaks enclave ABI version \(ENCLAVA_ENCLAVE_ABI_VERSION + 1)"), "\(error)")
    }

    /// Gramine's `ocall_read` rule: a length above the one asked for is hostile, and so is an image that ends early.
    @Test(arguments: [(extra: 1, cut: Int.max), (extra: Int.max / 2, cut: Int.max), (extra: 0, cut: 100)])
    func hostileImageReadsAreRefused(extra: Int, cut: Int) throws {
        let (image, folder) = try sealedImage()
        defer { try? FileManager.default.removeItem(at: folder) }
        image.extra = extra
        image.cutAt = cut
        let (status, handle, error) = load(image)
        #expect(status == ENCLAVA_EDGE_HOSTILE_OCALL)
        #expect(handle == nil)
        #expect(error.contains("read_image answered out of contract"), "\(error)")
    }

    @Test func theHostChecksBuffersAndTheEnclaveBoundsConnections() throws {
        let (image, folder) = try sealedImage()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (status, loaded, error) = load(image)
        try #require(status == ENCLAVA_EDGE_OK, "\(error)")
        let handle = try #require(loaded)
        defer { #expect(enclava_host_unload(handle) == ENCLAVA_EDGE_OK) }
        // A Health request frame (stream 1) on the control connection and on a client connection.
        let health: [UInt8] = [0, 0, 0, 0x1C, 0, 0, 0, 1, 1, 0, 0x0A, 0x12] + Array("enclava.v1.Enclave".utf8)
            + [0x12, 0x06] + Array("Health".utf8)
        #expect(health.count == 0x1C + 10)
        var out = [UInt8](repeating: 0, count: 4096)
        var length = 0
        #expect(enclava_host_call(handle, 0, health, health.count, &out, out.count, &length) == ENCLAVA_EDGE_OK)
        #expect(length > 10 && out[8] == 2, "a response frame")
        #expect(!String(decoding: out.prefix(length), as: UTF8.self).contains("MALFORMED"), "a Health answer, not a refusal")
        // Refused by the host before the library is entered: null, zero, over the cap, overlapping.
        #expect(enclava_host_call(handle, 1, nil, 4, &out, out.count, &length) == ENCLAVA_EDGE_INVALID_ARGUMENT)
        #expect(enclava_host_call(handle, 1, health, 0, &out, out.count, &length) == ENCLAVA_EDGE_INVALID_ARGUMENT)
        #expect(enclava_host_call(handle, 1, health, (4 << 20) + 11, &out, out.count, &length) == ENCLAVA_EDGE_TOO_LARGE)
        let overlapping = out.withUnsafeMutableBufferPointer { buffer in
            enclava_host_call(handle, 1, buffer.baseAddress, 32, buffer.baseAddress! + 16, 64, &length)
        }
        #expect(overlapping == ENCLAVA_EDGE_INVALID_ARGUMENT)
        // A response that does not fit: its size, then collected whole.
        #expect(enclava_host_call(handle, 1, health, health.count, &out, 10, &length) == ENCLAVA_EDGE_SHORT_BUFFER)
        let needed = length
        #expect(needed > 10)
        #expect(enclava_host_collect(handle, 1, &out, needed, &length) == ENCLAVA_EDGE_OK && length == needed)
        // The connection cap (2 client connections here), and a disconnect that frees a place.
        #expect(enclava_host_call(handle, 2, health, health.count, &out, out.count, &length) == ENCLAVA_EDGE_OK)
        #expect(enclava_host_call(handle, 3, health, health.count, &out, out.count, &length) == ENCLAVA_EDGE_TOO_MANY_CONNECTIONS)
        #expect(enclava_host_disconnect(handle, 2) == ENCLAVA_EDGE_OK)
        #expect(enclava_host_call(handle, 3, health, health.count, &out, out.count, &length) == ENCLAVA_EDGE_OK)
        #expect(enclava_host_disconnect(handle, 0) == ENCLAVA_EDGE_INVALID_ARGUMENT, "the control connection stays")
    }
}
