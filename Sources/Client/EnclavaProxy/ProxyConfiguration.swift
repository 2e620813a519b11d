import Foundation

/// What `enclava proxy` needs besides the sessions: where to listen and its bounds.
public struct ProxyConfiguration: Sendable {
    /// The address to listen on, e.g. `127.0.0.1`.
    public var listenHost: String
    /// The port to listen on; 0 lets the system choose (``EnclavaProxyServer/listeningPort``).
    public var listenPort: Int
    /// Whether a non-loopback ``listenHost`` is allowed (`--allow-remote`): the proxy hands plaintext to whoever
    /// can reach it, so by default only this machine can.
    public var allowRemote = false
    /// The largest HTTP request body accepted; a larger one is answered 413 (`--max-body-bytes`).
    public var maxBodyBytes = 4 << 20
    /// Requests handled at once; one more is answered 429 at once (`--max-concurrent`).
    public var maxConcurrentRequests = 16
    /// The most texts one `/v1/embeddings` request may carry.
    public var maxTextsPerRequest = 256

    /// Creates a configuration with default bounds.
    public init(listenHost: String = "127.0.0.1", listenPort: Int) {
        self.listenHost = listenHost
        self.listenPort = listenPort
    }

    /// Checks the values a user can get wrong.
    /// - Throws: ``ProxyError`` `invalidConfiguration` naming the value, or `remoteListenRefused` for a non-loopback
    ///   address without ``allowRemote``.
    public func validate() throws {
        guard (0...65535).contains(listenPort) else {
            throw ProxyError(.invalidConfiguration, "the listen port must be 0…65535, got \(listenPort)")
        }
        guard (1...(256 << 20)).contains(maxBodyBytes) else {
            throw ProxyError(.invalidConfiguration, "max body bytes must be 1…\(256 << 20), got \(maxBodyBytes)")
        }
        guard (1...4096).contains(maxConcurrentRequests) else {
            throw ProxyError(.invalidConfiguration, "max concurrent requests must be 1…4096, got \(maxConcurrentRequests)")
        }
        guard (1...65536).contains(maxTextsPerRequest) else {
            throw ProxyError(.invalidConfiguration, "max texts per request must be 1…65536, got \(maxTextsPerRequest)")
        }
        guard allowRemote || Self.isLoopback(listenHost) else {
            throw ProxyError(.remoteListenRefused,
                             "refusing to listen on \(listenHost): the proxy decrypts the enclave's answers for whoever reaches it, "
                                 + "so it listens only on a loopback address (127.0.0.1, ::1, localhost) unless you pass --allow-remote")
        }
    }

    /// Whether `host` is a loopback address (127.0.0.0/8, ::1, `localhost`).
    public static func isLoopback(_ host: String) -> Bool {
        var trimmed = host
        if trimmed.hasPrefix("["), trimmed.hasSuffix("]") { trimmed = String(trimmed.dropFirst().dropLast()) }
        if trimmed.lowercased() == "localhost" { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, trimmed, &v4) == 1 {
            return UInt32(bigEndian: v4.s_addr) >> 24 == 127
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, trimmed, &v6) == 1 {
            let bytes = withUnsafeBytes(of: v6) { Array($0) }
            return bytes == Array(repeating: 0, count: 15) + [1]
        }
        return false
    }
}
