import EnclavaWire
import NIOCore

extension ClientRelayHandler {
    /// Opens this client's connection to an in-process enclave, named by the bridge's client id (never 0, the
    /// enclave's control connection).
    func openOcallLink(_ enclave: OcallEnclave, eventLoop: any EventLoop) -> OcallEnclaveLink {
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        let holder = NIOLoopBound(LinkHolder(), eventLoop: eventLoop)
        let link = OcallEnclaveLink(enclave: enclave, connection: self.connectionID, eventLoop: eventLoop) { streamID, result in
            guard let link = holder.value.link else { return }
            bound.value.ocallAnswered(streamID, result, from: link)
        }
        holder.value.link = link
        return link
    }

    /// Hands one admitted request frame to the in-process enclave.
    func write(_ frame: Frame, to link: OcallEnclaveLink) {
        guard let bytes = try? frame.encoded() else { return }
        self.recorder?.record(bytes, direction: .clientToEnclave, connection: self.connectionID)
        link.send(bytes, streamID: frame.streamID)
    }

    /// The enclave's answer to the request of `streamID`: a response frame, checked here as the frame decoder checks a
    /// socket's (header, length, limit), or the edge's failure.
    func ocallAnswered(_ streamID: UInt32, _ result: Result<[UInt8], OcallEnclave.CallFailure>, from link: OcallEnclaveLink) {
        guard let route = self.links.firstIndex(where: { if case .ocall(let current) = $0 { current === link } else { false } }) else {
            return
        }
        switch result {
        case .failure(let failure):
            self.logger.warning("the in-process enclave did not answer a call: \(failure)", metadata: ["stream": "\(streamID)"])
            self.fail(streamID, .unavailable(BridgeReason.enclaveUnavailable,
                                             "the in-process enclave did not answer (\(failure)); retry shortly"))
        case .success(let bytes):
            guard !bytes.isEmpty else { return }   // a frame that needs no answer
            guard bytes.count >= WireLimits.headerByteCount,
                  bytes[0..<4].reduce(0, { $0 << 8 | Int($1) }) == bytes.count - WireLimits.headerByteCount,
                  let type = FrameType(rawValue: bytes[8]), FrameFlags.all.isSuperset(of: FrameFlags(rawValue: bytes[9])) else {
                self.logger.error("the in-process enclave answered a malformed frame", metadata: ["stream": "\(streamID)"])
                self.fail(streamID, RPCError(.internal, reason: BridgeReason.enclaveUnavailable,
                                             message: "the in-process enclave answered a malformed frame"))
                return
            }
            let answeredStream = bytes[4..<8].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            let payloadLength = bytes.count - WireLimits.headerByteCount
            guard payloadLength <= self.limits.maxFrameBytes else {
                self.enclaveSent(.oversized(streamID: answeredStream, type: type.rawValue, length: UInt32(payloadLength)), route: route)
                return
            }
            var payload = ByteBufferAllocator().buffer(capacity: payloadLength)
            payload.writeBytes(bytes[WireLimits.headerByteCount...])
            self.enclaveSent(.frame(Frame(streamID: answeredStream, type: type, flags: FrameFlags(rawValue: bytes[9]),
                                          payload: payload)), route: route)
        }
    }
}

/// Lets the link's delivery closure reach the link it belongs to without retaining it.
private final class LinkHolder {
    weak var link: OcallEnclaveLink?
}
