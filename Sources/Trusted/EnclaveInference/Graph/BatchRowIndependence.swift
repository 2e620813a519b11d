/// Whether the rows of different requests may share one model run (DESIGN.md §5): the verdict of a
/// load-time analysis of the model's graph (``BatchRowAnalysis``) that every output row depends on its own
/// input row alone, whatever the other rows of the batch hold and however many there are.
///
/// The analysis is conservative: anything it cannot prove (an operator it does not model, a reduction, a
/// softmax or an arg-extremum over the batch axis, a product contracting it, a reshape, flatten, transpose,
/// concatenation, split, gather or slice that moves or mixes it, a shape computed from request data, the
/// batch size used as a value) gives ``isProven`` false, naming the first step that breaks the proof.
/// The runtime then runs each session's rows on their own.
public struct BatchRowIndependence: Sendable, Equatable, CustomStringConvertible {
    /// True when the analysis proved that every output row depends on its own input row alone.
    public let isProven: Bool
    /// The step that breaks the proof, as the model names it (`ReduceMean 'reducemean_m'`); nil when the
    /// proof holds or when no single step is to blame (an input without a batch dimension).
    public let node: String?
    /// Why, in one sentence.
    public let reason: String

    private init(isProven: Bool, node: String?, reason: String) {
        self.isProven = isProven
        self.node = node
        self.reason = reason
    }

    /// The analysis proved row independence.
    static let proven = BatchRowIndependence(
        isProven: true, node: nil,
        reason: "every output row depends on its own input row alone; requests of different sessions may share a run")

    /// The analysis could not prove row independence because of `node` (nil when no step is to blame).
    static func notProven(node: String?, _ reason: String) -> BatchRowIndependence {
        BatchRowIndependence(isProven: false, node: node, reason: reason)
    }

    /// The verdict for an engine that offers no proof (test doubles, engines other than ``InferenceModel``).
    public static let unanalyzed = BatchRowIndependence(
        isProven: false, node: nil, reason: "the engine was not analysed for batch-row independence")

    /// A verdict that is assumed, not proven.
    ///
    /// - Warning: for benchmarks that reproduce the unsafe behaviour of earlier releases (rows of different
    ///   sessions always sharing a run). An engine that returns it lets one client's rows influence
    ///   another's results; never use it for a served model.
    public static func uncheckedAssumingIndependentRows(_ reason: String) -> BatchRowIndependence {
        BatchRowIndependence(isProven: true, node: nil, reason: reason)
    }

    /// `proven` or `not proven at <node>: <reason>`.
    public var description: String {
        if isProven { return "proven: \(reason)" }
        return node.map { "not proven at \($0): \(reason)" } ?? "not proven: \(reason)"
    }
}
