import NIOCore

/// Host-initiated hybrid vsock as Firecracker documents it (and Cloud Hypervisor follows): connect to the
/// VMM's Unix socket, write `CONNECT <port>\n` in one write, read one line — `OK <host_port>\n` — then the
/// stream is the guest's. A VMM whose guest is not listening on that port closes the connection without an
/// answer; that is "not yet", and the caller retries (``attemptDeadlines(total:)``).
///
/// The VMM is host software and the guest can be slow to boot; neither is trusted: the answer is read with a
/// 32-byte bound, must be exactly `OK <decimal>\n`, and anything else ends the attempt with an error that
/// says what arrived. The connection is never half-closed before the answer (cloud-hypervisor #6621).
public enum HybridVsock {
    /// The most bytes read for the answer line, newline included.
    public static let maxAnswerBytes = 32
    /// The first attempt's deadline.
    public static let firstAttemptDeadline: Duration = .milliseconds(25)
    /// The longest single attempt.
    public static let maxAttemptDeadline: Duration = .seconds(10)

    /// `CONNECT <port>\n`.
    public static func connectLine(port: UInt32) -> [UInt8] { Array("CONNECT \(port)\n".utf8) }

    /// What ended an attempt.
    public enum AttemptFailure: Error, Equatable, CustomStringConvertible {
        /// The VMM closed the connection before answering: nothing listens on the guest port (yet).
        case guestNotListening
        /// No answer within the attempt's deadline.
        case noAnswer
        /// The VMM answered something other than `OK <port>\n` (the text, made printable).
        case malformedAnswer(String)

        /// Whether another attempt may succeed.
        public var isRetryable: Bool { if case .malformedAnswer = self { false } else { true } }

        public var description: String {
            switch self {
            case .guestNotListening: "the VMM closed the connection after CONNECT: nothing listens on that guest port yet"
            case .noAnswer: "the VMM did not answer CONNECT in time"
            case .malformedAnswer(let text): "the VMM answered `\(text)` instead of `OK <port>`; is this a hybrid vsock socket?"
            }
        }
    }

    /// Parses one answer line (without its newline).
    /// - Returns: the host-side port the VMM chose.
    /// - Throws: ``AttemptFailure/malformedAnswer(_:)``.
    public static func parseAnswer(_ line: [UInt8]) throws(AttemptFailure) -> UInt32 {
        let text = String(decoding: line, as: UTF8.self)
        let parts = text.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0] == "OK", !parts[1].isEmpty, parts[1].allSatisfy(\.isASCII),
              parts[1].allSatisfy(\.isNumber), let port = UInt32(parts[1]) else {
            throw .malformedAnswer(printable(line))
        }
        return port
    }

    /// The deadlines of successive attempts within `total`: 25 ms doubling to 10 s, the last one cut to what
    /// is left of `total`.
    public static func attemptDeadlines(total: Duration) -> [Duration] {
        var deadlines: [Duration] = []
        var spent: Duration = .zero
        var next = firstAttemptDeadline
        while spent < total {
            let deadline = min(next, total - spent)
            deadlines.append(deadline)
            spent += deadline
            next = min(next * 2, maxAttemptDeadline)
        }
        return deadlines
    }

    /// `bytes` as they are shown in an error: printable ASCII kept, anything else as `.`, at most 32.
    public static func printable(_ bytes: [UInt8]) -> String {
        String(bytes.prefix(maxAnswerBytes).map { (0x20..<0x7F).contains($0) ? Character(Unicode.Scalar($0)) : "." })
    }
}

/// The first handler of a hybrid vsock connection: sends `CONNECT`, reads the answer, then removes itself and
/// passes on any bytes that followed the answer line. `done` completes with the VMM's host port or an
/// ``HybridVsock/AttemptFailure``.
final class HybridVsockConnectHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let port: UInt32
    private let done: EventLoopPromise<UInt32>
    private var answer: [UInt8] = []
    private var finished = false

    init(port: UInt32, done: EventLoopPromise<UInt32>) {
        self.port = port
        self.done = done
    }

    func channelActive(context: ChannelHandlerContext) {
        let line = HybridVsock.connectLine(port: port)
        context.writeAndFlush(NIOAny(context.channel.allocator.buffer(bytes: line)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !finished else { return context.fireChannelRead(data) }
        var buffer = unwrapInboundIn(data)
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        guard let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) else {
            answer += bytes
            if answer.count >= HybridVsock.maxAnswerBytes { fail(context, .malformedAnswer(HybridVsock.printable(answer))) }
            return
        }
        answer += bytes[..<newline]
        guard answer.count < HybridVsock.maxAnswerBytes else {
            return fail(context, .malformedAnswer(HybridVsock.printable(answer)))
        }
        let hostPort: UInt32
        do {
            hostPort = try HybridVsock.parseAnswer(answer)
        } catch {
            return fail(context, error)
        }
        finished = true
        let rest = Array(bytes[(newline + 1)...])
        if !rest.isEmpty { context.fireChannelRead(NIOAny(context.channel.allocator.buffer(bytes: rest))) }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        done.succeed(hostPort)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !finished {
            finished = true
            done.fail(HybridVsock.AttemptFailure.guestNotListening)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard !finished else { return context.fireErrorCaught(error) }
        finished = true
        done.fail(HybridVsock.AttemptFailure.guestNotListening)
        context.close(promise: nil)
    }

    private func fail(_ context: ChannelHandlerContext, _ failure: HybridVsock.AttemptFailure) {
        finished = true
        done.fail(failure)
        context.close(promise: nil)
    }
}
