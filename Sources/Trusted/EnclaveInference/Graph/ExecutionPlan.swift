/// A model ready to run: every value has a slot, nodes are in topological order, every operator is built,
/// every constant lives in the weight store. Immutable, so any number of requests can share it.
struct ExecutionPlan: Sendable {
    /// Where a value comes from.
    enum Source: Sendable {
        /// The model input at this index of ``ExecutionPlan/inputs``.
        case input(Int)
        /// A constant (initializer or folded `Constant`).
        case weight(WeightRef)
        /// An output of a step.
        case computed
    }

    /// One value of the graph.
    struct Value: Sendable {
        let name: String
        let dtype: TensorDataType
        let source: Source
    }

    /// One node to run.
    struct Step: Sendable {
        let label: String
        let op: any ExecutableOperator
        /// Value slots of the inputs (nil = absent optional input).
        let inputs: [Int?]
        /// Value slots of the outputs.
        let outputs: [Int]
    }

    let values: [Value]
    let steps: [Step]
    /// Model inputs the caller supplies, and their value slots.
    let inputs: [TensorSpec]
    let inputSlots: [Int]
    /// Model outputs, and their value slots.
    let outputs: [TensorSpec]
    let outputSlots: [Int]
    /// Default-domain opset the model imports.
    let opset: Int64
}
