/// Where a ttrpc peer listens.
public enum TTRPCEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// A Unix domain socket path.
    case unix(String)
    /// A TCP host and port.
    case tcp(host: String, port: Int)
    /// An AF_VSOCK context ID and port (Nitro enclaves, QEMU `vhost-vsock-pci` confidential VMs).
    case vsock(cid: UInt32, port: UInt32)
    /// Hybrid vsock (Firecracker, Cloud Hypervisor): the VMM's Unix socket and the guest's vsock port, reached
    /// with `CONNECT <port>\n` → `OK <host_port>\n` (``HybridVsock``).
    case hvsock(path: String, port: UInt32)

    /// Shorthand for ``tcp(host:port:)``.
    public static func tcp(_ host: String, _ port: Int) -> TTRPCEndpoint { .tcp(host: host, port: port) }

    /// Parses `unix:PATH`, `tcp:HOST:PORT`, `HOST:PORT`, `[IPv6]:PORT`, `vsock:CID:PORT` or
    /// `hvsock:UDS_PATH:PORT`.
    ///
    /// - Throws: ``WireError`` `invalidEndpoint` naming the expected forms.
    public init(parsing text: String) throws {
        if text.hasPrefix("vsock:") {
            let parts = text.dropFirst("vsock:".count).split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, let cid = UInt32(parts[0]), let port = UInt32(parts[1]) else {
                throw WireError(.invalidEndpoint, "`\(text)`: expected vsock:CID:PORT with decimal numbers (e.g. vsock:16:1024)")
            }
            self = .vsock(cid: cid, port: port)
            return
        }
        if text.hasPrefix("hvsock:") {
            let rest = text.dropFirst("hvsock:".count)
            guard let colon = rest.lastIndex(of: ":"), let port = UInt32(rest[rest.index(after: colon)...]),
                  colon > rest.startIndex else {
                throw WireError(.invalidEndpoint, "`\(text)`: expected hvsock:UDS_PATH:PORT (the VMM's vsock Unix socket "
                                + "and the guest's port, e.g. hvsock:/run/fc/v.sock:1024)")
            }
            self = .hvsock(path: String(rest[..<colon]), port: port)
            return
        }
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst("unix:".count))
            guard !path.isEmpty else {
                throw WireError(.invalidEndpoint, "`\(text)`: expected unix:PATH with a non-empty path")
            }
            self = .unix(path)
            return
        }
        var rest = Substring(text)
        if rest.hasPrefix("tcp:") { rest = rest.dropFirst(4) }
        guard let colon = rest.lastIndex(of: ":"),
              let port = Int(rest[rest.index(after: colon)...]), (0...65535).contains(port) else {
            throw WireError(.invalidEndpoint, "`\(text)`: expected HOST:PORT (e.g. 127.0.0.1:7000) or unix:PATH")
        }
        var host = rest[..<colon]
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        guard !host.isEmpty else {
            throw WireError(.invalidEndpoint, "`\(text)`: the host is empty; expected HOST:PORT")
        }
        self = .tcp(host: String(host), port: port)
    }

    public var description: String {
        switch self {
        case .unix(let path): return "unix:\(path)"
        case .tcp(let host, let port): return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .vsock(let cid, let port): return "vsock:\(cid):\(port)"
        case .hvsock(let path, let port): return "hvsock:\(path):\(port)"
        }
    }
}
