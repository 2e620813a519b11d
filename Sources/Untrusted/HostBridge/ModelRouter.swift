import EnclavaWire

/// Picks the enclave of a multi-model bridge that a client request goes to, from the model name the client put
/// in the ttrpc `Request.metadata` (key ``ModelRouter/metadataKey``). A value type with no I/O: the relay asks it,
/// then forwards the frame unchanged on that client's own link to that enclave.
///
/// * no name, one enclave → that one (a single-image bridge needs no name);
/// * no name, several → `INVALID_ARGUMENT` (`MODEL_REQUIRED`) naming the served models, except `Health`, which the
///   bridge answers itself with a summary;
/// * an unknown name → `NOT_FOUND` (`UNKNOWN_MODEL`) naming the served models;
/// * a name given twice, or longer than ``maxNameBytes`` → `INVALID_ARGUMENT` (`MALFORMED_MODEL_NAME`).
///
/// The bridge is untrusted: routing is a convenience, not a guarantee. The client checks that the enclave it
/// reached is the one its policy pins for that name.
public struct ModelRouter: Sendable, Equatable {
    /// The ttrpc metadata key whose value names the model a call is for.
    public static let metadataKey = "enclava-model"
    /// The longest model name accepted, in UTF-8 bytes.
    public static let maxNameBytes = 128

    /// Where a request goes.
    public enum Decision: Sendable {
        /// Relay to the enclave at this index of the bridge's routes.
        case enclave(Int)
        /// An unnamed `Health` on a bridge with several enclaves: the bridge answers with a summary.
        case healthSummary
        /// Answer with this error; relay nothing.
        case refuse(RPCError)
    }

    /// The served model names, in route order; `nil` for an enclave whose name the bridge does not know (an
    /// attached enclave served without its image), which only a single-enclave bridge may have.
    public let names: [String?]

    /// Creates a router over the served names (in route order).
    public init(names: [String?]) {
        self.names = names
    }

    /// The served names as one list for messages, e.g. `fraud-detector, minilm-embeddings`.
    public var servedList: String { self.names.map { $0 ?? "(unnamed)" }.joined(separator: ", ") }

    /// The model name a request carries, if any (`""` counts as none).
    /// - Throws: ``RPCError`` `INVALID_ARGUMENT` (`MALFORMED_MODEL_NAME`) for a name given twice or too long.
    public static func requestedName(in request: Ttrpc_Request) throws -> String? {
        let values = request.metadata.filter { $0.key == Self.metadataKey }.map(\.value)
        guard values.count <= 1 else {
            throw RPCError(.invalidArgument, reason: BridgeReason.malformedModelName,
                           message: "the request names its model \(values.count) times in `\(Self.metadataKey)`; name it once")
        }
        guard let name = values.first, !name.isEmpty else { return nil }
        guard name.utf8.count <= Self.maxNameBytes else {
            throw RPCError(.invalidArgument, reason: BridgeReason.malformedModelName,
                           message: "the model name in `\(Self.metadataKey)` is \(name.utf8.count) bytes; at most \(Self.maxNameBytes)")
        }
        return name
    }

    /// Decides where `request` goes.
    public func route(_ request: Ttrpc_Request) -> Decision {
        let name: String?
        do { name = try Self.requestedName(in: request) } catch let error as RPCError {
            return .refuse(error)
        } catch {
            return .refuse(RPCError(.invalidArgument, reason: BridgeReason.malformedModelName, message: "\(error)"))
        }
        guard let name else {
            if self.names.count == 1 { return .enclave(0) }
            if request.method == EnclaveService.Method.health.rawValue { return .healthSummary }
            return .refuse(RPCError(.invalidArgument, reason: BridgeReason.modelRequired,
                                    message: "this bridge serves \(self.names.count) models (\(self.servedList)); name one "
                                        + "(`--model NAME`, `model=`)",
                                    metadata: ["models": self.servedList]))
        }
        if self.names.count == 1, self.names[0] == nil { return .enclave(0) }
        if let index = self.names.firstIndex(of: name) { return .enclave(index) }
        return .refuse(RPCError(.notFound, reason: BridgeReason.unknownModel,
                                message: "this bridge serves no model named `\(name)`; it serves: \(self.servedList)",
                                metadata: ["models": self.servedList]))
    }
}
