internal import CEnclaveEdge
import EnclavaWire
import Foundation
import Logging
import NIOCore
import NIOPosix

/// An enclave loaded into this process through the ocall edge (``OcallEnclaveConfiguration``). Every call goes
/// through the edge's host side (`enclava_host_*` in CShims/CEnclaveEdge), which checks arguments before entering
/// the library and its answer after; the library copies each frame into its own memory before it looks at it.
///
/// Ecalls block their thread for as long as the enclave works on the frame, so they run on ``threads``, never on an
/// event loop or a Swift concurrency thread.
final class OcallEnclave: @unchecked Sendable, Equatable {
    /// What the edge answered when a call did not deliver a frame.
    struct CallFailure: Error, CustomStringConvertible {
        let status: UInt32
        var description: String { OcallEnclave.describe(status) }
    }

    /// The control channel (Health, Shutdown): never a client's.
    static let controlConnection: UInt64 = UInt64(ENCLAVA_ENCLAVE_CONTROL_CONNECTION)
    /// Ecalls running at once, at most (each blocks one of these threads).
    static let threadCount = 64

    let libraryPath: String
    let maxFrameBytes: Int
    let threads: NIOThreadPool
    private let handle: OpaquePointer
    private let host: Unmanaged<OcallHost>

    private init(libraryPath: String, maxFrameBytes: Int, handle: OpaquePointer, host: Unmanaged<OcallHost>, threads: NIOThreadPool) {
        self.libraryPath = libraryPath
        self.maxFrameBytes = maxFrameBytes
        self.handle = handle
        self.host = host
        self.threads = threads
    }

    static func == (lhs: OcallEnclave, rhs: OcallEnclave) -> Bool { lhs === rhs }

    /// Loads the library and creates the enclave from the image (on a thread of its own: creation decrypts and
    /// loads the model).
    /// - Throws: ``HostBridgeError`` `launchFailed` with the edge's one line (file, symbol, ABI, or the enclave's
    ///   own reason).
    static func load(_ configuration: OcallEnclaveConfiguration, maxFrameBytes: Int, maxConnections: Int,
                     logger: Logger) async throws -> OcallEnclave {
        let threads = NIOThreadPool(numberOfThreads: threadCount)
        threads.start()
        let loaded = threads.runIfActive(eventLoop: MultiThreadedEventLoopGroup.singleton.next()) {
            try Self.loadBlocking(configuration, maxFrameBytes: maxFrameBytes, maxConnections: maxConnections,
                                  logger: logger, threads: threads)
        }
        do {
            return try await loaded.get()
        } catch {
            try? await threads.shutdownGracefully()
            throw error
        }
    }

    private static func loadBlocking(_ configuration: OcallEnclaveConfiguration, maxFrameBytes: Int, maxConnections: Int,
                                     logger: Logger, threads: NIOThreadPool) throws -> OcallEnclave {
        let path = configuration.libraryPath
        let descriptor = open(configuration.imagePath, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw HostBridgeError(.launchFailed, "cannot open the image \(configuration.imagePath): \(String(cString: strerror(errno)))")
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_size > 0 else {
            close(descriptor)
            throw HostBridgeError(.launchFailed, "the image \(configuration.imagePath) is empty or cannot be read")
        }
        let host = Unmanaged.passRetained(OcallHost(descriptor: descriptor, logger: logger))
        var ocalls = enclava_edge_ocalls()
        ocalls.host = host.toOpaque()
        ocalls.read_image = readImage
        ocalls.clock_ns = clockNanoseconds
        ocalls.log = logLine
        var error = [CChar](repeating: 0, count: 1024)
        var handle: OpaquePointer?
        let status = configuration.simHome.withCString { simHome in
            (configuration.signerFingerprint ?? "").withCString { signer in
                var options = enclava_enclave_options()
                options.abi_version = ENCLAVA_ENCLAVE_ABI_VERSION
                options.flags = configuration.allowUnlockedMemory ? ENCLAVA_ENCLAVE_ALLOW_UNLOCKED_MEMORY : 0
                options.image_size = UInt64(info.st_size)
                options.max_connections = UInt32(min(maxConnections, Int(ENCLAVA_ENCLAVE_MAX_CONNECTIONS)))
                options.sim_format = configuration.simFormatNumber
                options.sim_home = simHome
                options.signer_fingerprint = configuration.signerFingerprint == nil ? nil : signer
                return enclava_host_load(path, maxFrameBytes, &options, &ocalls, &handle, &error, error.count)
            }
        }
        guard status == ENCLAVA_EDGE_OK, let handle else {
            host.release()
            let line = String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw HostBridgeError(.launchFailed, "ocall:\(path): \(line.isEmpty ? describe(status.rawValue) : line)")
        }
        return OcallEnclave(libraryPath: path, maxFrameBytes: maxFrameBytes, handle: handle, host: host, threads: threads)
    }

    /// One ecall (blocking): `frame` in, the response frame out (empty: the frame needed no answer). `buffer` is the
    /// caller's reusable output buffer, grown to what the enclave says it needs.
    /// - Throws: ``CallFailure`` with the edge's status.
    func call(connection: UInt64, frame: UnsafeRawBufferPointer, buffer: inout [UInt8]) throws -> ArraySlice<UInt8> {
        guard let input = frame.baseAddress?.assumingMemoryBound(to: UInt8.self) else { throw CallFailure(status: ENCLAVA_EDGE_INVALID_ARGUMENT.rawValue) }
        var length = 0
        var status = buffer.withUnsafeMutableBufferPointer { out in
            enclava_host_call(handle, connection, input, frame.count, out.baseAddress, out.count, &length)
        }
        if status == ENCLAVA_EDGE_SHORT_BUFFER {
            buffer = [UInt8](repeating: 0, count: length)
            status = buffer.withUnsafeMutableBufferPointer { out in
                enclava_host_collect(handle, connection, out.baseAddress, out.count, &length)
            }
        }
        guard status == ENCLAVA_EDGE_OK else { throw CallFailure(status: status.rawValue) }
        return buffer[0..<length]
    }

    /// Ends a client connection in the enclave (its sessions and evidence are forgotten).
    /// - Returns: whether it ended (false while one of its ecalls still runs: try again after it).
    func disconnect(_ connection: UInt64) -> Bool {
        enclava_host_disconnect(handle, connection) != ENCLAVA_EDGE_BUSY
    }

    /// Destroys the enclave (blocking). - Returns: false while an ecall still runs.
    func unload() -> Bool {
        let status = enclava_host_unload(handle)
        if status == ENCLAVA_EDGE_OK { host.release() }
        return status != ENCLAVA_EDGE_BUSY
    }

    /// The edge's status as words, for logs and errors.
    static func describe(_ status: UInt32) -> String {
        switch enclava_edge_status(rawValue: status) {
        case ENCLAVA_EDGE_OK: "OK"
        case ENCLAVA_EDGE_SHORT_BUFFER: "SHORT_BUFFER: the response needs a larger buffer"
        case ENCLAVA_EDGE_INVALID_ARGUMENT: "INVALID_ARGUMENT: a null, overlapping or unknown argument"
        case ENCLAVA_EDGE_TOO_LARGE: "TOO_LARGE: a length over the edge's cap (max_frame_bytes + 10)"
        case ENCLAVA_EDGE_BUSY: "BUSY: another ecall runs on this connection"
        case ENCLAVA_EDGE_PENDING: "PENDING: a response waits to be collected"
        case ENCLAVA_EDGE_NOTHING_PENDING: "NOTHING_PENDING: no response to collect"
        case ENCLAVA_EDGE_HOSTILE_OCALL: "HOSTILE_OCALL: an answer out of the edge's contract"
        case ENCLAVA_EDGE_INTERNAL: "INTERNAL: the enclave failed"
        case ENCLAVA_EDGE_TOO_MANY_CONNECTIONS: "TOO_MANY_CONNECTIONS: the enclave's connection table is full"
        case ENCLAVA_EDGE_WRONG_ABI: "WRONG_ABI: the library speaks another edge ABI version"
        default: "status \(status), unknown to this host"
        }
    }
}

// MARK: the ocalls (the enclave calls them on its threads; the host context is a retained ``OcallEnclave/Host``)

private let readImage: @convention(c) (UnsafeMutableRawPointer?, UInt64, UnsafeMutablePointer<UInt8>?, Int,
                                      UnsafeMutablePointer<Int>?) -> Int32 = { context, offset, buffer, capacity, readLength in
    guard let context, let readLength else { return 1 }
    readLength.pointee = 0
    guard capacity > 0, let buffer else { return 0 }
    let descriptor = Unmanaged<OcallHost>.fromOpaque(context).takeUnretainedValue()
    var done = 0
    while done < capacity {
        let count = pread(descriptor.descriptor, buffer + done, capacity - done, off_t(offset) + off_t(done))
        if count < 0 && errno == EINTR { continue }
        if count < 0 { return 1 }
        if count == 0 { break }
        done += count
    }
    readLength.pointee = done
    return 0
}

private let clockNanoseconds: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutablePointer<UInt64>?) -> Int32 = { _, out in
    var now = timespec()
    guard let out, clock_gettime(CLOCK_REALTIME, &now) == 0 else { return 1 }
    out.pointee = UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    return 0
}

private let logLine: @convention(c) (UnsafeMutableRawPointer?, Int32, UnsafePointer<UInt8>?, Int) -> Void = { context, level, message, length in
    guard let context, let message else { return }
    let host = Unmanaged<OcallHost>.fromOpaque(context).takeUnretainedValue()
    // Hostile text: bounded, printable ASCII only.
    let text = String(decoding: UnsafeBufferPointer(start: message, count: min(length, 4096)).map { (0x20...0x7E).contains($0) ? $0 : 0x3F },
                      as: UTF8.self)
    let levels = Logger.Level.allCases
    let chosen = levels.indices.contains(Int(level)) ? levels[Int(level)] : .info
    host.logger.log(level: chosen, "enclave: \(text)")
}

/// The host's side of the ocalls: the image file (read with pread, never changed), the log.
private final class OcallHost {
    let descriptor: Int32
    let logger: Logger
    init(descriptor: Int32, logger: Logger) {
        self.descriptor = descriptor
        self.logger = logger
    }
    deinit { close(descriptor) }
}
