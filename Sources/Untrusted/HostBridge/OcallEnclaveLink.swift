import EnclavaWire
import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// One client's link to an in-process enclave (``OcallEnclave``): the frames the client relay admits go, in order, one
/// ecall each, on the client's own enclave connection (named by the bridge's client id, so its sessions are its own);
/// each answer comes back to the relay on its event loop. It replaces the socket connection a socket link opens.
///
/// Order and bounds: one ecall at a time per link (the edge refuses a second with BUSY), the waiting frames bounded by
/// the relay's in-flight budget, and no ecall starts while the client is not reading its answers (``pause(_:)``).
/// Closing ends the enclave connection once no ecall of it runs.
final class OcallEnclaveLink: @unchecked Sendable {
    private struct State {
        var waiting: [(streamID: UInt32, frame: ByteBuffer)] = []
        var running = false
        var paused = false
        var closed = false
    }

    let enclave: OcallEnclave
    let connection: UInt64
    private let eventLoop: any EventLoop
    private let deliver: @Sendable (UInt32, Result<[UInt8], OcallEnclave.CallFailure>) -> Void
    private let state = NIOLockedValueBox(State())
    /// The output buffer the ecalls reuse (touched only by the one running drain).
    private var buffer = [UInt8](repeating: 0, count: 64 << 10)

    /// - Parameters:
    ///   - deliver: called on `eventLoop` with each request's stream id and its response frame (empty: none) or the
    ///     edge's failure, in request order.
    init(enclave: OcallEnclave, connection: UInt64, eventLoop: any EventLoop,
         deliver: @escaping @Sendable (UInt32, Result<[UInt8], OcallEnclave.CallFailure>) -> Void) {
        self.enclave = enclave
        self.connection = connection
        self.eventLoop = eventLoop
        self.deliver = deliver
    }

    /// Queues one encoded request frame of `streamID`.
    func send(_ frame: ByteBuffer, streamID: UInt32) {
        let start = self.state.withLockedValue { state -> Bool in
            guard !state.closed else { return false }
            state.waiting.append((streamID, frame))
            return self.claimDrain(&state)
        }
        if start { self.scheduleDrain() }
    }

    /// Stops (true) or resumes (false) starting ecalls: the client is not reading its answers.
    func pause(_ paused: Bool) {
        let start = self.state.withLockedValue { state -> Bool in
            state.paused = paused
            return self.claimDrain(&state)
        }
        if start { self.scheduleDrain() }
    }

    /// Drops the waiting frames and ends the enclave connection (after the running ecall, if any).
    func close() {
        let disconnectNow = self.state.withLockedValue { state -> Bool in
            guard !state.closed else { return false }
            state.closed = true
            state.waiting.removeAll()
            return !state.running
        }
        if disconnectNow { self.scheduleDisconnect() }
    }

    private func claimDrain(_ state: inout State) -> Bool {
        guard !state.running, !state.paused, !state.closed, !state.waiting.isEmpty else { return false }
        state.running = true
        return true
    }

    private func scheduleDrain() {
        self.enclave.threads.submit { [self] work in
            guard work == .active else { return }   // the bridge is stopping: the enclave is being destroyed
            self.drain()
        }
    }

    private func scheduleDisconnect() {
        self.enclave.threads.submit { [self] work in
            guard work == .active else { return }
            while !self.enclave.disconnect(self.connection) { usleep(1000) }
        }
    }

    /// Runs the waiting frames one ecall each, on an ecall thread, until none is left, the link pauses or closes.
    private func drain() {
        while true {
            let next = self.state.withLockedValue { state -> (streamID: UInt32, frame: ByteBuffer)? in
                guard !state.closed, !state.paused, !state.waiting.isEmpty else {
                    state.running = false
                    return nil
                }
                return state.waiting.removeFirst()
            }
            guard let (streamID, frame) = next else { break }
            let result: Result<[UInt8], OcallEnclave.CallFailure>
            do {
                let answer = try frame.readableBytesView.withContiguousStorageIfAvailable { bytes in
                    try self.enclave.call(connection: self.connection, frame: UnsafeRawBufferPointer(bytes), buffer: &self.buffer)
                } ?? []
                result = .success(Array(answer))
            } catch let failure as OcallEnclave.CallFailure {
                result = .failure(failure)
            } catch {
                result = .failure(OcallEnclave.CallFailure(status: 8))
            }
            let deliver = self.deliver
            self.eventLoop.execute { deliver(streamID, result) }
        }
        let closedMeanwhile = self.state.withLockedValue { $0.closed }
        if closedMeanwhile { while !self.enclave.disconnect(self.connection) { usleep(1000) } }
    }
}
