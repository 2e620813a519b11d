internal import CEnclaveEdge
import EnclavaAttestation
import EnclavaImage
import EnclavaWire
import EnclavePlatform
import EnclaveRuntime
import Foundation
import Logging

/// The trusted runtime inside its host's process (issue 11): created from an image the host offers through the
/// `read_image` ocall, served one ttrpc frame per ecall. The host names a connection in every ecall; each gets an
/// ``EdgeConnection`` (own edge, own ttrpc identity) on first use, up to `max_connections` client connections.
/// Connection 0 is the host's control channel: Health and Shutdown only, as the control socket.
final class InProcessEnclave: @unchecked Sendable {
    /// Why create failed: the status the host sees and one line for its log.
    struct Failure: Error {
        let status: enclava_edge_status
        let message: String
    }

    let runtime: EnclaveRuntime
    let maxFrameBytes: Int
    let maxConnections: Int
    private let client: EnclaveFrameProcessor
    private let control: EdgeConnection
    private let imageDescriptor: Int32
    private let lock = NSLock()
    private var connections: [UInt64: EdgeConnection] = [:]

    private init(runtime: EnclaveRuntime, maxFrameBytes: Int, maxConnections: Int, client: EnclaveFrameProcessor,
                 control: EdgeConnection, imageDescriptor: Int32) {
        self.runtime = runtime
        self.maxFrameBytes = maxFrameBytes
        self.maxConnections = maxConnections
        self.client = client
        self.control = control
        self.imageDescriptor = imageDescriptor
    }

    /// Checks the host's options, copies the image in, starts the runtime.
    /// - Throws: ``Failure`` naming the option or step that failed.
    static func create(options: enclava_enclave_options, ocalls: enclava_edge_ocalls) throws(Failure) -> InProcessEnclave {
        let checked = try EdgeOptions(options)
        // The image comes in through the host's read_image, each answer checked, into a sealed memfd.
        var ocalls = ocalls
        let descriptor = try withUnsafePointer(to: &ocalls) { pointer throws(Failure) -> Int32 in
            let boot = EdgeConnection.open(processor: EnclaveFrameProcessor(handler: NoService(), maxFrameBytes: 1),
                                           maxFrameBytes: 1, ocalls: pointer)
            guard case .success(let connection) = boot else {
                throw Failure(status: ENCLAVA_EDGE_INTERNAL, message: "the enclave cannot open its edge")
            }
            defer { _ = connection.close() }
            var descriptor: Int32 = -1
            let status = enclava_edge_copy_image(connection.edge, checked.imageSize, &descriptor)
            guard status == ENCLAVA_EDGE_OK else {
                throw Failure(status: status, message: status == ENCLAVA_EDGE_HOSTILE_OCALL
                    ? "the host's read_image answered out of contract (a length above the one asked for, or the image ended before its \(checked.imageSize) bytes)"
                    : "the enclave could not copy the \(checked.imageSize)-byte image in (read_image failed, status \(status.rawValue))")
            }
            return descriptor
        }
        let imagePath = "/proc/self/fd/\(descriptor)"
        var logger = Logger(label: "enclava.enclave") { _ in OcallLogHandler(ocalls: ocalls, logLevel: .info) }
        logger.logLevel = .info
        do {
            let platform = try SimPlatform(home: checked.simHome, format: checked.simFormat, executablePath: LibraryFile.path)
            var runtimeOptions = RuntimeOptions(listen: .unix(path: "ocall"), imagePath: imagePath, simHome: checked.simHome,
                                                allowUnlockedMemory: checked.allowUnlockedMemory, hardenProcess: true)
            runtimeOptions.simFormat = checked.simFormat
            runtimeOptions.signerFingerprint = checked.signerFingerprint
            let startOptions = runtimeOptions
            let startLogger = logger
            let started = BlockingCall.run { () -> Result<EnclaveRuntime, RuntimeError> in
                do {
                    return .success(try await EnclaveRuntime.startWithoutListening(options: startOptions, platform: platform,
                                                                                    logger: startLogger))
                } catch let error as RuntimeError {
                    return .failure(error)
                } catch {
                    return .failure(RuntimeError(.imageInvalid, "\(error)"))
                }
            }
            let runtime = try started.get()
            let maxFrameBytes = try EnclaveImage.open(path: imagePath).manifest.runtime.maxFrameBytes
            let client = EnclaveFrameProcessor(handler: EnclaveRequestHandler(core: runtime.core, channel: .client),
                                               maxFrameBytes: maxFrameBytes)
            let controlHandler = EnclaveRequestHandler(core: runtime.core, channel: .control) { [weak runtime] in
                guard let runtime else { return }
                Task { await runtime.shutdown(delay: .zero) }
            }
            let opened = EdgeConnection.open(processor: EnclaveFrameProcessor(handler: controlHandler, maxFrameBytes: maxFrameBytes),
                                             maxFrameBytes: maxFrameBytes, ocalls: nil)
            guard case .success(let control) = opened else {
                throw Failure(status: ENCLAVA_EDGE_INTERNAL, message: "the enclave cannot open its control edge")
            }
            return InProcessEnclave(runtime: runtime, maxFrameBytes: maxFrameBytes, maxConnections: checked.maxConnections,
                                    client: client, control: control, imageDescriptor: descriptor)
        } catch let error as Failure {
            close(descriptor)
            throw error
        } catch let error as RuntimeError {
            close(descriptor)
            throw Failure(status: ENCLAVA_EDGE_INTERNAL, message: error.message)
        } catch {
            close(descriptor)
            throw Failure(status: ENCLAVA_EDGE_INTERNAL, message: "the enclave cannot start: \(error)")
        }
    }

    /// The ecall of `id`'s connection (see enclava_enclave_call_fn).
    func call(_ id: UInt64, _ input: UnsafePointer<UInt8>?, _ inLength: Int, _ output: UnsafeMutablePointer<UInt8>?,
              _ outCapacity: Int, _ outLength: UnsafeMutablePointer<Int>?) -> enclava_edge_status {
        let connection: EdgeConnection
        switch self.checkOut(id, create: true) {
        case .success(let found): connection = found
        case .failure(let failure): return failure.status
        }
        defer { self.checkIn(connection) }
        return enclava_edge_call(connection.edge, input, inLength, output, outCapacity, outLength)
    }

    /// The collect of `id`'s connection.
    func collect(_ id: UInt64, _ output: UnsafeMutablePointer<UInt8>?, _ outCapacity: Int,
                 _ outLength: UnsafeMutablePointer<Int>?) -> enclava_edge_status {
        let connection: EdgeConnection
        switch self.checkOut(id, create: false) {
        case .success(let found): connection = found
        case .failure(let failure): return failure.status
        }
        defer { self.checkIn(connection) }
        return enclava_edge_collect(connection.edge, output, outCapacity, outLength)
    }

    /// Ends `id`'s connection: its edge is closed and its sessions forgotten. Unknown ids are already ended.
    func disconnect(_ id: UInt64) -> enclava_edge_status {
        guard id != UInt64(ENCLAVA_ENCLAVE_CONTROL_CONNECTION) else { return ENCLAVA_EDGE_INVALID_ARGUMENT }
        let ended: EdgeConnection? = self.lock.withLock {
            guard let connection = self.connections[id] else { return nil }
            guard connection.users == 0 else { return connection }
            self.connections[id] = nil
            return connection
        }
        guard let ended else { return ENCLAVA_EDGE_OK }
        if self.lock.withLock({ self.connections[id] === ended }) { return ENCLAVA_EDGE_BUSY }
        _ = ended.close()
        ended.forget()
        return ENCLAVA_EDGE_OK
    }

    /// Stops the runtime and ends every connection. BUSY while any ecall runs.
    func destroy() -> enclava_edge_status {
        let ended: [EdgeConnection]? = self.lock.withLock {
            guard self.control.users == 0, self.connections.values.allSatisfy({ $0.users == 0 }) else { return nil }
            self.control.users = Int.max / 2   // no ecall gets in any more
            defer { self.connections = [:] }
            return Array(self.connections.values)
        }
        guard let ended else { return ENCLAVA_EDGE_BUSY }
        for connection in ended {
            _ = connection.close()
            connection.forget()
        }
        _ = self.control.close()
        let runtime = self.runtime
        BlockingCall.run { await runtime.shutdown(delay: .zero) }
        close(self.imageDescriptor)
        return ENCLAVA_EDGE_OK
    }

    private func checkOut(_ id: UInt64, create: Bool) -> Result<EdgeConnection, EdgeFailure> {
        self.lock.withLock {
            if self.control.users >= Int.max / 2 { return .failure(EdgeFailure(ENCLAVA_EDGE_INVALID_ARGUMENT)) }
            let connection: EdgeConnection
            if id == UInt64(ENCLAVA_ENCLAVE_CONTROL_CONNECTION) {
                connection = self.control
            } else if let known = self.connections[id] {
                connection = known
            } else {
                guard create else { return .failure(EdgeFailure(ENCLAVA_EDGE_NOTHING_PENDING)) }
                guard self.connections.count < self.maxConnections else {
                    return .failure(EdgeFailure(ENCLAVA_EDGE_TOO_MANY_CONNECTIONS))
                }
                switch EdgeConnection.open(processor: self.client, maxFrameBytes: self.maxFrameBytes, ocalls: nil) {
                case .success(let opened): connection = opened
                case .failure(let failure): return .failure(failure)
                }
                self.connections[id] = connection
            }
            connection.users += 1
            return .success(connection)
        }
    }

    private func checkIn(_ connection: EdgeConnection) {
        self.lock.withLock { connection.users -= 1 }
    }
}

/// The boot edge's service: it only carries the read_image ocall and never serves a frame.
private struct NoService: TTRPCServiceHandler {
    func handle(method: String, service: String, payload: [UInt8]) async -> Result<[UInt8], RPCError> {
        .failure(RPCError(.unavailable, reason: "NOT_SERVING", message: "the enclave is starting"))
    }
}

/// The file this library was loaded from: what the simulated platform measures, as SGX measures the enclave's
/// shared object (MRENCLAVE) rather than its host.
enum LibraryFile {
    static var path: String {
        guard let name = enclava_edge_library_path(#dsohandle) else { return "/proc/self/exe" }
        return String(cString: name)
    }
}
