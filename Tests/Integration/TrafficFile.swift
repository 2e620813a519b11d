import Foundation

/// Reads an `enclava serve --record-traffic` file (the format `FileTrafficRecorder` documents: the line
/// `ENCLAVA-TRAFFIC/1\n`, then `direction u8 ‖ connection u64 BE ‖ length u32 BE ‖ bytes` records), as a test that
/// does not link the bridge sees it.
enum TrafficFile {
    /// The record directions (`TrafficDirection`'s raw values).
    enum Direction: UInt8 {
        case clientToEnclave = 1, enclaveToClient = 2, bridgeToClient = 3, enclaveToBroker = 4, brokerToEnclave = 5
    }

    /// The bytes that went `direction`, per connection, in order.
    static func streams(_ traffic: URL, direction: Direction) throws -> [UInt64: [UInt8]] {
        let data = [UInt8](try Data(contentsOf: traffic))
        var offset = Array("ENCLAVA-TRAFFIC/1\n".utf8).count
        var streams: [UInt64: [UInt8]] = [:]
        while offset + 13 <= data.count {
            let connection = data[(offset + 1)..<(offset + 9)].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let length = data[(offset + 9)..<(offset + 13)].reduce(0) { $0 << 8 | Int($1) }
            let bytes = Array(data[(offset + 13)..<min(data.count, offset + 13 + length)])
            if data[offset] == direction.rawValue { streams[connection, default: []] += bytes }
            offset += 13 + length
        }
        return streams
    }
}
