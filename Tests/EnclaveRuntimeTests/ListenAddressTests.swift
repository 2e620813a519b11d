import EnclavaWire
import EnclaveRuntime
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 11: `enclava-runtime --listen vsock:PORT | unix:PATH | tcp:HOST:PORT`.
@Suite struct ListenAddressTests {
    @Test func theThreeFormsParse() throws {
        #expect(try RuntimeOptions.ListenAddress(parsing: "unix:/run/e.sock") == .unix(path: "/run/e.sock"))
        #expect(try RuntimeOptions.ListenAddress(parsing: "vsock:1024") == .vsock(port: 1024))
        #expect(try RuntimeOptions.ListenAddress(parsing: "tcp:127.0.0.1:7000") == .tcp(host: "127.0.0.1", port: 7000))
        #expect(try RuntimeOptions.ListenAddress(parsing: "tcp:[::1]:7000") == .tcp(host: "::1", port: 7000))
        #expect(RuntimeOptions.ListenAddress.tcp(host: "::1", port: 7000).description == "tcp:[::1]:7000")
        #expect(RuntimeOptions.ListenAddress.vsock(port: 5).description == "vsock:5")
    }

    @Test(arguments: [
        ("vsock:", "--listen vsock:PORT needs a decimal port below 4294967295, got `vsock:`"),
        ("vsock:-1", "--listen vsock:PORT needs a decimal port below 4294967295, got `vsock:-1`"),
        ("vsock:4294967295", "--listen vsock:PORT needs a decimal port below 4294967295, got `vsock:4294967295`"),
        ("tcp:7000", "--listen tcp:HOST:PORT needs a host and a port 0…65535, got `tcp:7000`"),
        ("tcp:h:70000", "--listen tcp:HOST:PORT needs a host and a port 0…65535, got `tcp:h:70000`"),
        ("unix:", "--listen must be unix:PATH, vsock:PORT or tcp:HOST:PORT (tests only) (e.g. unix:/tmp/enclava.sock), got `unix:`"),
        ("127.0.0.1:7000", "--listen must be unix:PATH, vsock:PORT or tcp:HOST:PORT (tests only) (e.g. unix:/tmp/enclava.sock), got `127.0.0.1:7000`"),
    ])
    func badAddressesAreNamed(text: String, message: String) {
        let error = #expect(throws: RuntimeError.self) { try RuntimeOptions.ListenAddress(parsing: text) }
        #expect(error?.code == .invalidOption)
        #expect(error?.message == message)
    }

    /// Whether this kernel lets a process bind an AF_VSOCK port (a vsock transport is loaded).
    static let vsockBindable: Bool = {
        let fd = socket(AF_VSOCK, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return bindVsock(fd, port: UInt32.random(in: 60_001...65_000)) == 0
    }()

    static func bindVsock(_ fd: Int32, port: UInt32) -> Int32 {
        // struct sockaddr_vm (linux/vm_sockets.h, not in Glibc's module): u16 family, u16 reserved, u32 port,
        // u32 cid, 4 zero bytes; host byte order.
        var address = [UInt8](repeating: 0, count: 16)
        withUnsafeBytes(of: UInt16(AF_VSOCK)) { address.replaceSubrange(0..<2, with: $0) }
        withUnsafeBytes(of: port) { address.replaceSubrange(4..<8, with: $0) }
        withUnsafeBytes(of: UInt32.max) { address.replaceSubrange(8..<12, with: $0) }   // VMADDR_CID_ANY
        return address.withUnsafeBytes { bind(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), 16) }
    }

    /// The listen path of AF_VSOCK where the kernel allows binding (this test never connects: an AF_VSOCK
    /// connection to CID 0–2 would reach the machine's own hypervisor). The port is really held: a second bind
    /// of it fails with EADDRINUSE until the server closes.
    @Test(.enabled(if: vsockBindable, "this kernel cannot bind AF_VSOCK ports (no vsock transport loaded)"))
    func aVsockPortIsHeldWhileTheServerListens() async throws {
        let port = UInt32.random(in: 20_000...60_000)
        let server = try await TTRPCServer.bind(vsockPort: port, handler: NothingService())
        let second = socket(AF_VSOCK, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(second) }
        #expect(Self.bindVsock(second, port: port) == -1 && errno == EADDRINUSE)
        await server.close()
        let third = socket(AF_VSOCK, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(third) }
        #expect(Self.bindVsock(third, port: port) == 0, "errno \(errno)")
    }
}

private struct NothingService: TTRPCServiceHandler {
    func handle(method: String, service: String, payload: [UInt8]) async -> Result<[UInt8], RPCError> { .success([]) }
}

/// `enclava-runtime --key-broker`: the bridge's socket, or the host's vsock port from inside a VM.
@Suite struct KeyBrokerAddressTests {
    @Test func theAcceptedForms() throws {
        #expect(try RuntimeOptions.keyBrokerEndpoint(parsing: "unix:/run/kb.sock") == .unix("/run/kb.sock"))
        #expect(try RuntimeOptions.keyBrokerEndpoint(parsing: "vsock:2:1025") == .vsock(cid: 2, port: 1025))
        #expect(try RuntimeOptions.keyBrokerEndpoint(parsing: "tcp:127.0.0.1:9") == .tcp(host: "127.0.0.1", port: 9))
    }

    @Test(arguments: ["hvsock:/run/v.sock:1025", "unix:", "127.0.0.1:9", "vsock:1025", "vsock:2:x"])
    func otherFormsAreNamed(text: String) {
        let error = #expect(throws: RuntimeError.self) { try RuntimeOptions.keyBrokerEndpoint(parsing: text) }
        #expect(error?.code == .invalidOption)
        #expect(error?.message == "--key-broker must be unix:PATH (the bridge's forwarding socket) or vsock:CID:PORT "
                + "(inside a VM: vsock:2:1025, the host), got `\(text)`")
    }
}
