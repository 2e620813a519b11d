internal import CEnclaveEdge
import Foundation

// The library's C ABI (CShims/CEnclaveEdge/include/enclava_edge.h, "The enclave library's exports"): every
// function takes C types only and returns an enclava_edge_status. Handles are checked against the set of live
// enclaves, so a stale or forged handle is refused rather than followed.

/// The enclave ABI version this library was built for (`ENCLAVA_ENCLAVE_ABI_VERSION`).
@_cdecl("enclava_enclave_abi_version")
public func enclavaEnclaveABIVersion() -> UInt32 {
    ENCLAVA_ENCLAVE_ABI_VERSION
}

/// `enclava_enclave_create`: checks the options, copies the image in through `read_image`, starts the runtime.
/// - Parameters:
///   - options: `const enclava_enclave_options *`.
///   - ocalls: `const enclava_edge_ocalls *` (copied).
///   - out: receives the handle, or NULL on failure.
///   - error: receives one NUL-terminated line naming the problem (at most `errorCapacity` bytes).
///   - errorCapacity: the size of `error`.
/// - Returns: the status (`enclava_edge_status`).
@_cdecl("enclava_enclave_create")
public func enclavaEnclaveCreate(_ options: UnsafeRawPointer?, _ ocalls: UnsafeRawPointer?, _ out: UnsafeMutablePointer<OpaquePointer?>?,
                                 _ error: UnsafeMutablePointer<CChar>?, _ errorCapacity: Int) -> UInt32 {
    func fail(_ status: enclava_edge_status, _ message: String) -> UInt32 {
        if let error, errorCapacity > 0 {
            let bytes = Array(message.utf8.prefix(errorCapacity - 1))
            for (index, byte) in bytes.enumerated() { error[index] = CChar(bitPattern: byte) }
            error[bytes.count] = 0
        }
        return status.rawValue
    }
    guard let out else { return ENCLAVA_EDGE_INVALID_ARGUMENT.rawValue }
    out.pointee = nil
    guard let options, let ocalls else { return fail(ENCLAVA_EDGE_INVALID_ARGUMENT, "options and ocalls are required") }
    let copiedOptions = options.loadUnaligned(as: enclava_enclave_options.self)
    let copiedOcalls = ocalls.loadUnaligned(as: enclava_edge_ocalls.self)
    do {
        let enclave = try InProcessEnclave.create(options: copiedOptions, ocalls: copiedOcalls)
        out.pointee = LiveEnclaves.add(enclave)
        return ENCLAVA_EDGE_OK.rawValue
    } catch {
        return fail(error.status, error.message)
    }
}

/// `enclava_enclave_destroy`: stops the runtime and frees the handle (BUSY while an ecall runs).
@_cdecl("enclava_enclave_destroy")
public func enclavaEnclaveDestroy(_ handle: OpaquePointer?) -> UInt32 {
    guard let enclave = LiveEnclaves.find(handle) else { return ENCLAVA_EDGE_INVALID_ARGUMENT.rawValue }
    let status = enclave.destroy()
    if status == ENCLAVA_EDGE_OK { LiveEnclaves.remove(handle) }
    return status.rawValue
}

/// `enclava_enclave_call`: one request frame of `connection` in, one response frame out.
@_cdecl("enclava_enclave_call")
public func enclavaEnclaveCall(_ handle: OpaquePointer?, _ connection: UInt64, _ input: UnsafePointer<UInt8>?, _ inLength: Int,
                               _ output: UnsafeMutablePointer<UInt8>?, _ outCapacity: Int,
                               _ outLength: UnsafeMutablePointer<Int>?) -> UInt32 {
    guard let enclave = LiveEnclaves.find(handle) else { return ENCLAVA_EDGE_INVALID_ARGUMENT.rawValue }
    return enclave.call(connection, input, inLength, output, outCapacity, outLength).rawValue
}

/// `enclava_enclave_collect`: a response of `connection` that did not fit.
@_cdecl("enclava_enclave_collect")
public func enclavaEnclaveCollect(_ handle: OpaquePointer?, _ connection: UInt64, _ output: UnsafeMutablePointer<UInt8>?,
                                  _ outCapacity: Int, _ outLength: UnsafeMutablePointer<Int>?) -> UInt32 {
    guard let enclave = LiveEnclaves.find(handle) else { return ENCLAVA_EDGE_INVALID_ARGUMENT.rawValue }
    return enclave.collect(connection, output, outCapacity, outLength).rawValue
}

/// `enclava_enclave_disconnect`: ends `connection` and what it held.
@_cdecl("enclava_enclave_disconnect")
public func enclavaEnclaveDisconnect(_ handle: OpaquePointer?, _ connection: UInt64) -> UInt32 {
    guard let enclave = LiveEnclaves.find(handle) else { return ENCLAVA_EDGE_INVALID_ARGUMENT.rawValue }
    return enclave.disconnect(connection).rawValue
}

/// The enclaves this library created and has not destroyed, by handle.
enum LiveEnclaves {
    nonisolated(unsafe) private static var live: [UInt: InProcessEnclave] = [:]
    private static let lock = NSLock()

    static func add(_ enclave: InProcessEnclave) -> OpaquePointer {
        let handle = Unmanaged.passUnretained(enclave).toOpaque()
        lock.withLock { live[UInt(bitPattern: handle)] = enclave }
        return OpaquePointer(handle)
    }

    static func find(_ handle: OpaquePointer?) -> InProcessEnclave? {
        guard let handle else { return nil }
        return lock.withLock { live[UInt(bitPattern: UnsafeRawPointer(handle))] }
    }

    static func remove(_ handle: OpaquePointer?) {
        guard let handle else { return }
        _ = lock.withLock { live.removeValue(forKey: UInt(bitPattern: UnsafeRawPointer(handle))) }
    }
}
