import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// One record of a traffic file.
public struct TrafficRecord: Sendable, Equatable {
    /// Which way the bytes went.
    public var direction: TrafficDirection
    /// The bridge's id of the client connection.
    public var connection: UInt64
    /// The bytes.
    public var bytes: [UInt8]
}

/// Writes every relayed byte to a file (`enclava serve --record-traffic FILE`), mode 0600.
///
/// Format: the line `ENCLAVA-TRAFFIC/1\n`, then records of
/// `direction u8 ‖ connection u64 BE ‖ length u32 BE ‖ bytes`. Read it back with ``readRecords(path:)``.
public final class FileTrafficRecorder: TrafficRecorder {
    /// The first bytes of a traffic file.
    public static let magic = Array("ENCLAVA-TRAFFIC/1\n".utf8)

    private let descriptor: NIOLockedValueBox<Int32>
    /// The file being written.
    public let path: String

    /// Creates (or truncates) the file.
    ///
    /// - Parameter path: where to write.
    /// - Throws: ``HostBridgeError`` `invalidConfiguration` if the file cannot be created.
    public init(path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw HostBridgeError(.invalidConfiguration,
                                  "cannot create the traffic file \(path): \(String(cString: strerror(errno)))")
        }
        self.path = path
        self.descriptor = NIOLockedValueBox(fd)
        Self.writeAll(fd, Self.magic)
    }

    public func record(_ bytes: ByteBuffer, direction: TrafficDirection, connection: UInt64) {
        var record: [UInt8] = [direction.rawValue]
        record.reserveCapacity(13 + bytes.readableBytes)
        for shift in stride(from: 56, through: 0, by: -8) { record.append(UInt8(truncatingIfNeeded: connection >> UInt64(shift))) }
        let length = UInt32(truncatingIfNeeded: bytes.readableBytes)
        for shift in stride(from: 24, through: 0, by: -8) { record.append(UInt8(truncatingIfNeeded: length >> UInt32(shift))) }
        record.append(contentsOf: bytes.readableBytesView)
        self.descriptor.withLockedValue { fd in
            if fd >= 0 { Self.writeAll(fd, record) }
        }
    }

    public func close() {
        self.descriptor.withLockedValue { fd in
            if fd >= 0 {
                _ = fsync(fd)
                _ = Foundation.close(fd)
                fd = -1
            }
        }
    }

    deinit { self.close() }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }

    /// Reads a traffic file back.
    ///
    /// - Throws: ``HostBridgeError`` `invalidConfiguration` if the file is unreadable or not a traffic file.
    public static func readRecords(path: String) throws -> [TrafficRecord] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw HostBridgeError(.invalidConfiguration, "cannot read the traffic file \(path)")
        }
        let bytes = [UInt8](data)
        guard bytes.starts(with: Self.magic) else {
            throw HostBridgeError(.invalidConfiguration, "\(path) is not an Enclava traffic file (bad magic)")
        }
        var records: [TrafficRecord] = []
        var index = Self.magic.count
        while index < bytes.count {
            guard bytes.count - index >= 13, let direction = TrafficDirection(rawValue: bytes[index]) else {
                throw HostBridgeError(.invalidConfiguration, "\(path): corrupt record header at byte \(index)")
            }
            let connection = bytes[(index + 1)..<(index + 9)].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let length = Int(bytes[(index + 9)..<(index + 13)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
            index += 13
            guard bytes.count - index >= length else {
                throw HostBridgeError(.invalidConfiguration, "\(path): record at byte \(index - 13) is truncated")
            }
            records.append(TrafficRecord(direction: direction, connection: connection, bytes: Array(bytes[index..<(index + length)])))
            index += length
        }
        return records
    }
}
