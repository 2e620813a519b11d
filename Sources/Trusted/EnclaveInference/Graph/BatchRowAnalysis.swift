/// What the analysis knows about one value of the plan when the model runs on the rows of several requests
/// concatenated along dimension 0 (N rows in all) instead of one request's rows alone.
struct RowFact {
    enum Kind {
        /// The same contents and shape in a run of many requests as in each request's run alone (weights,
        /// constants, values computed from them and from the inputs' non-batch dimensions).
        case uniform
        /// A small integer or boolean tensor known element by element (row-major) as ``SymbolicInt``s; an
        /// element is nil when it is unknown and may depend on the batch size or on request data. Uniform
        /// when every element is known and independent of the batch size. The shape is always constant.
        case values([SymbolicInt?])
        /// `shape[axis]` is N, and the slice at index i along `axis` depends on input row i alone (the other
        /// dimensions are uniform).
        case rows(axis: Int)
        /// Dimension 0 is `N × block`, and the `block` entries from `i × block` along it depend on input row
        /// i alone: rows flattened into dimension 0.
        case flatRows(block: SymbolicInt)
        /// Uniform integers holding their position along `axis`: 0 ..< `count` (what `Range(0, count, 1)` makes).
        case iota(axis: Int, count: SymbolicInt)
        /// Integers `i × stride + offset` with i the row index along `axis` (`shape[axis]` is N) and offset in
        /// 0 ..< `offsetBelow` (0 when nil): the indices of row i's block in a tensor of ``flatRows(block:)``.
        case rowIndex(axis: Int, stride: SymbolicInt, offsetBelow: SymbolicInt?)
    }

    /// nil when the rank is unknown; an element is nil when that dimension is unknown.
    var shape: [SymbolicInt?]?
    var kind: Kind

    var rank: Int? { shape?.count }
}

/// A reason the proof fails at the step being analysed.
struct RowRefusal: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}

/// The load-time proof behind ``BatchRowIndependence`` (DESIGN.md §5): an abstract interpretation of the
/// final ``ExecutionPlan`` (after folding and fusion, so it covers exactly the steps that run) over
/// ``RowFact``s. Every model input starts as rows on axis 0; every step has a transfer rule (in
/// `BatchRowAnalysis+Rules.swift`) that either gives its outputs' facts or refuses; the proof holds when
/// every step has a rule that applies and every model output ends as rows on axis 0. Steps are visited in
/// plan order, so the step named in a refusal is the first that breaks the proof.
struct BatchRowAnalysis {
    /// Integer tensors up to this many elements are followed element by element.
    static let maxTrackedElements = 64

    let plan: ExecutionPlan
    let weights: WeightStore
    var facts: [RowFact?]
    private var nextAtom = SymbolicInt.batchAtom + 1
    /// Atoms known to be ≥ 0 (the batch size and input dimensions).
    private var nonNegativeAtoms: Set<Int> = [SymbolicInt.batchAtom]

    /// Analyses a planned model.
    static func verdict(plan: ExecutionPlan, weights: WeightStore) -> BatchRowIndependence {
        var analysis = BatchRowAnalysis(plan: plan, weights: weights)
        return analysis.run()
    }

    private init(plan: ExecutionPlan, weights: WeightStore) {
        self.plan = plan
        self.weights = weights
        self.facts = Array(repeating: nil, count: plan.values.count)
    }

    private mutating func run() -> BatchRowIndependence {
        for (slot, value) in plan.values.enumerated() {
            switch value.source {
            case .weight(let weight): facts[slot] = constantFact(dtype: weight.dtype, shape: weight.shape, bytes: weights.bytes(weight))
            case .folded(let buffer, let shape): facts[slot] = constantFact(dtype: value.dtype, shape: shape, bytes: buffer.bytes)
            case .input, .computed: break
            }
        }
        for (spec, slot) in zip(plan.inputs, plan.inputSlots) {
            guard spec.isRankKnown else {
                return .notProven(node: nil, "input '\(spec.name)' declares no shape, so its batch dimension cannot be followed")
            }
            guard !spec.shape.isEmpty else {
                return .notProven(node: nil, "input '\(spec.name)' is a scalar: it has no batch dimension")
            }
            let trailing: [SymbolicInt?] = spec.shape.dropFirst().map { $0.map { SymbolicInt($0) } ?? fresh(nonNegative: true) }
            facts[slot] = RowFact(shape: [.batch] + trailing, kind: .rows(axis: 0))
        }
        var producer: [Int: String] = [:]
        for step in plan.steps {
            do {
                let inputs: [RowFact?] = try step.inputs.map { slot in
                    guard let slot else { return nil }
                    guard let fact = facts[slot] else { throw RowRefusal("it reads '\(plan.values[slot].name)', which no earlier step computes") }
                    return fact
                }
                let outputs = try transfer(step, inputs)
                for (slot, fact) in zip(step.outputs, outputs) {
                    facts[slot] = fact
                    producer[slot] = step.label
                }
            } catch let refusal as RowRefusal {
                return .notProven(node: step.label, refusal.reason)
            } catch {
                return .notProven(node: step.label, "\(error)")
            }
        }
        for (spec, slot) in zip(plan.outputs, plan.outputSlots) {
            let fact = facts[slot]
            if case .rows(axis: 0)? = fact?.kind { continue }
            let what: String
            switch fact?.kind {
            case .rows(let axis)?: what = "carries the batch rows on axis \(axis), not axis 0"
            case .flatRows?: what = "holds the batch rows flattened into its first dimension"
            case .uniform?, .iota?: what = "does not depend on the rows of the batch (it has no batch dimension)"
            default: what = "does not keep one row per input row on axis 0"
            }
            return .notProven(node: producer[slot], "output '\(spec.name)' \(what)")
        }
        return .proven
    }

    // MARK: facts and atoms

    /// A new atom: an integer fixed for a request but unknown at load time, independent of the batch size.
    mutating func fresh(nonNegative: Bool = false) -> SymbolicInt {
        let atom = nextAtom
        nextAtom += 1
        if nonNegative { nonNegativeAtoms.insert(atom) }
        return SymbolicInt(coefficient: 1, atoms: [atom])
    }

    /// Whether `value` is ≥ 0 for every request.
    func isNonNegative(_ value: SymbolicInt) -> Bool {
        value.coefficient >= 0 && value.atoms.allSatisfy { nonNegativeAtoms.contains($0) }
    }

    /// The fact of a weight or folded constant: element by element when it is a small integer tensor.
    private func constantFact(dtype: TensorDataType, shape: [Int], bytes: UnsafeRawBufferPointer) -> RowFact {
        let symbolicShape = shape.map { SymbolicInt($0) as SymbolicInt? }
        guard dtype != .float32, let count = Shape.elementCount(shape), count <= Self.maxTrackedElements else {
            return RowFact(shape: symbolicShape, kind: .uniform)
        }
        let view = TensorView(dtype: dtype, shape: shape, bytes: bytes)
        return RowFact(shape: symbolicShape, kind: .values(view.integers.prefix(count).map { SymbolicInt($0) }))
    }

    /// Whether a fact is uniform (see ``RowFact/Kind/uniform``).
    func isUniform(_ fact: RowFact) -> Bool {
        switch fact.kind {
        case .uniform, .iota: return true
        case .values(let values): return values.allSatisfy { $0 != nil && !$0!.involvesBatch }
        default: return false
        }
    }

    /// The elements of an integer vector used as shape, axes, indices or bounds: known ones, or new atoms for
    /// a uniform vector of known length; nil when they may depend on the batch size or request data in a
    /// way the analysis does not follow.
    mutating func elements(_ fact: RowFact?) -> [SymbolicInt?]? {
        guard let fact else { return nil }
        switch fact.kind {
        case .values(let values): return values
        case .uniform, .iota:
            guard let shape = fact.shape, shape.count <= 1 else { return nil }
            let count = shape.isEmpty ? 1 : shape[0]?.constant
            guard let count, count <= Self.maxTrackedElements else { return nil }
            return (0..<count).map { _ in fresh() }
        default: return nil
        }
    }

    /// Elements that are all known constants (axes, permutations, steps).
    mutating func constants(_ fact: RowFact?) -> [Int]? {
        guard let values = elements(fact) else { return nil }
        let constants = values.compactMap { $0?.constant }
        return constants.count == values.count ? constants : nil
    }

    /// Normalizes an axis against a rank, or refuses.
    func axis(_ value: Int, rank: Int, allowRank: Bool = false) throws -> Int {
        let normalized = value < 0 ? value + rank : value
        guard normalized >= 0, normalized < rank + (allowRank ? 1 : 0) else {
            throw RowRefusal("axis \(value) is out of range for rank \(rank)")
        }
        return normalized
    }

    /// The rank of a fact, or a refusal naming what is unknown.
    func rank(_ fact: RowFact?, _ role: String = "an input") throws -> Int {
        guard let rank = fact?.rank else { throw RowRefusal("the rank of \(role) is unknown") }
        return rank
    }

    /// One broadcast dimension (numpy rules) of uniform or batch dimensions: equal ones stay, 1s give way;
    /// otherwise a new atom when no operand involves the batch size, else unknown.
    mutating func broadcastDimension(_ dims: [SymbolicInt?]) -> SymbolicInt? {
        let wide = dims.filter { $0 != SymbolicInt(1) }
        guard let first = wide.first else { return SymbolicInt(1) }
        if wide.allSatisfy({ $0 == first }) { return first }
        guard wide.allSatisfy({ $0 != nil && !$0!.involvesBatch }) else { return nil }
        return fresh(nonNegative: true)
    }

    /// An unknown integer: a new atom when every operand is known and independent of the batch size, else nil.
    mutating func opaque(_ operands: [SymbolicInt?]) -> SymbolicInt? {
        operands.allSatisfy({ $0 != nil && !$0!.involvesBatch }) ? fresh() : nil
    }
}
