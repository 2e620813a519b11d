internal import CEnclaveEdge
import Logging

/// Sends the enclave's log lines to its host through the `log` ocall (the host writes them to its own log): the
/// library never writes to the host process's standard streams. The runtime logs no secrets; the host treats the
/// text as hostile.
struct OcallLogHandler: LogHandler, @unchecked Sendable {
    let ocalls: enclava_edge_ocalls
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        guard let log = ocalls.log else { return }
        let merged = self.metadata.merging(event.metadata ?? [:]) { $1 }
        let level = event.level
        var text = event.message.description
        if !merged.isEmpty {
            text += " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
        let bytes = Array(text.utf8.prefix(4096))
        bytes.withUnsafeBufferPointer { log(ocalls.host, Int32(Self.number(level)), $0.baseAddress, $0.count) }
    }

    /// The level as the edge passes it: 0 trace … 6 critical (swift-log's order).
    static func number(_ level: Logger.Level) -> Int {
        Logger.Level.allCases.firstIndex(of: level) ?? 2
    }
}
