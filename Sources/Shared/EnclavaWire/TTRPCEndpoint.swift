/// Where a ttrpc peer listens.
public enum TTRPCEndpoint: Sendable, Hashable, CustomStringConvertible {
    /// A Unix domain socket path.
    case unix(String)
    /// A TCP host and port.
    case tcp(host: String, port: Int)

    /// Shorthand for ``tcp(host:port:)``.
    public static func tcp(_ host: String, _ port: Int) -> TTRPCEndpoint { .tcp(host: host, port: port) }

    /// Parses `unix:PATH`, `tcp:HOST:PORT`, `HOST:PORT` or `[IPv6]:PORT`.
    ///
    /// - Throws: ``WireError`` `invalidEndpoint` naming the expected forms.
    public init(parsing text: String) throws {
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
        }
    }
}
