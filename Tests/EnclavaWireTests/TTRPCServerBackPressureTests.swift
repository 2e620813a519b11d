import EnclavaWire
import Foundation
import NIOCore
import Testing

/// Answers every call with 64 KiB and counts the calls it answered.
private final class LargeAnswerService: TTRPCServiceHandler, @unchecked Sendable {
    static let answerBytes = 64 << 10
    private let lock = NSLock()
    private var answered = 0

    var count: Int { lock.withLock { answered } }

    func handle(method: String, service: String, payload: [UInt8]) async -> Result<[UInt8], RPCError> {
        lock.withLock { answered += 1 }
        var response = Enclava_V1_GetEvidenceResponse()
        response.evidence = Data(repeating: 0xAB, count: Self.answerBytes)
        return .success((try? response.serializedBytes()) ?? [])
    }
}

/// A client that sends small requests for large answers and does not read them is not read from (found by
/// `enclava-bench faults`: the runtime grew by gigabytes of unread GetEvidence answers); once it reads,
/// every request it sent is answered.
@Suite(.timeLimit(.minutes(2))) struct TTRPCServerBackPressureTests {
    @Test func aPeerThatDoesNotReadIsNotReadFromUntilItReads() async throws {
        let service = LargeAnswerService()
        let path = temporarySocketPath("backpressure")
        let server = try await TTRPCServer.bind(unixPath: path, handler: service)
        defer { unlink(path) }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(connected == 0)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)

        // Up to 4,000 requests of 4 KiB (4,000 × 64 KiB = 250 MiB of answers): sent while the socket takes them,
        // until the socket stays full and the server's count of answers has stopped moving.
        let limit = 4_000
        var sent = 0
        var partial: [UInt8] = []   // the rest of a request frame the socket took only in part
        func sendSome(_ bytes: [UInt8]) -> Int {
            bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }
        var frame: [UInt8] = []
        var offset = 0
        var lastCount = -1
        var stalledChecks = 0
        while sent < limit && stalledChecks < 25 {
            if offset == 0 && frame.isEmpty {
                frame = try requestBytes(streamID: UInt32(2 * sent + 1), method: EnclaveService.Method.getEvidence.rawValue,
                                         payload: [UInt8](repeating: 1, count: 4096))
            }
            let written = sendSome(Array(frame[offset...]))
            if written > 0 {
                offset += written
                if offset == frame.count { (sent, frame, offset) = (sent + 1, [], 0) }
                stalledChecks = 0
                continue
            }
            #expect(written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            if service.count != lastCount { (lastCount, stalledChecks) = (service.count, 0) } else { stalledChecks += 1 }
            try await Task.sleep(for: .milliseconds(20))
        }
        if offset > 0 { partial = Array(frame[offset...]) }
        // Let the server take what it will, until its count of answers stops moving (or it answered all).
        var last = -1
        while service.count != last && service.count < sent {
            last = service.count
            try await Task.sleep(for: .milliseconds(300))
        }
        #expect(service.count < sent, "the server answered all \(sent) requests of a peer that reads nothing")

        // Now read (finishing the request sent in part): every request sent is answered.
        let processor = NIOSingleStepByteToMessageProcessor(FrameDecoder())
        var frames = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while frames < sent {
            if !partial.isEmpty {
                let written = sendSome(partial)
                if written > 0 { partial.removeFirst(written) }
                if partial.isEmpty { sent += 1 }
            }
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                try processor.process(buffer: ByteBuffer(bytes: buffer[0..<count])) { if case .frame = $0 { frames += 1 } }
            } else if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                try await Task.sleep(for: .milliseconds(5))
            } else {
                break
            }
        }
        #expect(frames == sent && service.count == sent)
        await server.close()
    }
}
