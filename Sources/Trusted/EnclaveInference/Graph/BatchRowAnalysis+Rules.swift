/// Transfer rules of ``BatchRowAnalysis``: element-wise operators, products, normalisations and reductions
/// (layout operators are in `BatchRowAnalysis+Layout.swift`). A rule refuses with a sentence saying what the
/// step does to the batch axis; an operator without a rule refuses too.
extension BatchRowAnalysis {
    mutating func transfer(_ step: ExecutionPlan.Step, _ inputs: [RowFact?]) throws -> [RowFact] {
        let integerResult = step.outputs.allSatisfy { plan.values[$0].dtype != .float32 }
        func elementwise(_ function: ValueFunction) throws -> [RowFact] {
            [try self.elementwise(inputs, integerResult ? function : nil)]
        }
        switch step.op {
        case let op as ShapeOnlyOperator:
            return try transfer(ExecutionPlan.Step(label: step.label, op: op.wrapped, inputs: step.inputs, outputs: step.outputs), inputs)
        case is IdentityOperator:
            return [try operand(inputs, 0)]
        case let op as CastOperator:
            return [try cast(try operand(inputs, 0), to: op.target ?? plan.values[step.outputs[0]].dtype)]
        case let op as UnaryOperator:
            if case .neg = op.function { return try elementwise(.neg) }
            return try elementwise(.opaque)
        case is ClipOperator:
            return try elementwise(.opaque)
        case let op as PredicateOperator:
            if case .not = op.kind { return try elementwise(.not) }
            return try elementwise(.opaque)
        case let op as BinaryOperator:
            if let fact = try indexArithmetic(op.kind, inputs) { return [fact] }
            let functions: [ArithmeticKind: ValueFunction] = [.add: .add, .sub: .sub, .mul: .mul, .div: .div, .min: .min, .max: .max]
            return try elementwise(functions[op.kind] ?? .opaque)
        case let op as VariadicOperator:
            let functions: [ArithmeticKind: ValueFunction] = [.min: .min, .max: .max]
            return try elementwise(inputs.count == 1 ? .identity : functions[op.kind] ?? .opaque)
        case let op as CompareOperator:
            let functions: [CompareOperator.Kind: ValueFunction] = [.equal: .equal, .less: .less, .greater: .greater,
                                                                   .lessOrEqual: .lessOrEqual, .greaterOrEqual: .greaterOrEqual]
            return try elementwise(functions[op.kind] ?? .opaque)
        case let op as LogicOperator:
            return try elementwise(op.kind == .and ? .and : op.kind == .or ? .or : .xor)
        case is WhereOperator:
            return try elementwise(.select)
        case is MatMulOperator:
            return [try matMul(try operand(inputs, 0), try operand(inputs, 1))]
        case let op as PackedMatMulOperator:
            return [try packedMatMul(try operand(inputs, 0), columns: op.packed.n)]
        case let op as GemmOperator:
            return [try gemm(inputs, transA: op.transA, transB: op.transB)]
        case is AttentionOperator:
            return [try attention(inputs)]
        case let op as SoftmaxOperator:
            return [try alongAxis(try operand(inputs, 0), Int(op.axis), op.isLog ? "takes the log-softmax over the batch axis"
                                                                          : "takes the softmax over the batch axis")]
        case let op as LayerNormOperator:
            return try layerNorm(inputs, axis: Int(op.axis), outputs: op.outputCount)
        case let op as ReduceOperator:
            return [try reduce(op, inputs)]
        case let op as ArgReduceOperator:
            let x = try operand(inputs, 0)
            let a = try axis(Int(op.axis), rank: try rank(x))
            return [try reduced(x, axes: [a], keepDims: op.keepDims,
                                "takes the \(op.isMax ? "ArgMax" : "ArgMin") over the batch axis (it compares the rows of different requests)")]
        default:
            return try layoutTransfer(step, inputs)
        }
    }

    /// Input `index`, which must be present.
    func operand(_ inputs: [RowFact?], _ index: Int) throws -> RowFact {
        guard index < inputs.count, let fact = inputs[index] else { throw RowRefusal("input \(index) is absent") }
        return fact
    }

    /// Why a fact cannot be combined as data.
    func misuse(_ fact: RowFact) -> String {
        switch fact.kind {
        case .values(let values) where values.contains(where: { $0?.involvesBatch ?? false }): "it uses the batch size as data"
        case .values: "it uses the batch size (or a value the analysis cannot follow) as data"
        case .rowIndex: "it uses the position of a row within the batch as data"
        case .flatRows: "it combines rows that were flattened across the batch axis"
        case .rows(let axis): "it combines the batch rows (axis \(axis)) in a way the analysis does not follow"
        case .uniform, .iota: "it combines constants in a way the analysis does not follow"
        }
    }

    // MARK: element-wise

    /// Numpy broadcasting over rows and uniform values: the batch axes of all row operands must line up,
    /// and a uniform operand must have size 1 along it.
    mutating func elementwise(_ operands: [RowFact?], _ function: ValueFunction?) throws -> RowFact {
        let inputs = operands.compactMap { $0 }
        let shapes = inputs.compactMap(\.shape)
        guard shapes.count == inputs.count else {
            if inputs.allSatisfy(isUniform) { return RowFact(shape: nil, kind: .uniform) }
            throw RowRefusal("the rank of an operand is unknown")
        }
        let rank = shapes.map(\.count).max() ?? 0
        let padded = shapes.map { Array(repeating: SymbolicInt(1) as SymbolicInt?, count: rank - $0.count) + $0 }
        var shape = (0..<rank).map { d in broadcastDimension(padded.map { $0[d] }) }
        if let function, let known = evaluate(function, inputs, shape: shape) { return known }
        if inputs.count == 1, case .flatRows = inputs[0].kind { return RowFact(shape: shape, kind: inputs[0].kind) }
        var batchAxis: Int?
        for (index, fact) in inputs.enumerated() {
            if case .rows(let a) = fact.kind {
                let aligned = a + rank - shapes[index].count
                if let other = batchAxis, other != aligned {
                    throw RowRefusal("it combines batch rows on axes \(other) and \(aligned) (rows of different requests meet)")
                }
                batchAxis = aligned
            } else if !isUniform(fact) {
                throw RowRefusal(misuse(fact))
            }
        }
        guard let axis = batchAxis else { return RowFact(shape: shape, kind: .uniform) }
        for (index, fact) in inputs.enumerated() where isUniform(fact) && padded[index][axis] != SymbolicInt(1) {
            throw RowRefusal("it broadcasts a constant of size \(padded[index][axis]?.description ?? "?") against the batch axis")
        }
        shape[axis] = .batch
        try requireUniformDimensions(shape, except: axis)
        return RowFact(shape: shape, kind: .rows(axis: axis))
    }

    /// Refuses when a dimension other than `axis` is unknown or depends on the batch size.
    func requireUniformDimensions(_ shape: [SymbolicInt?], except axis: Int?) throws {
        for (d, dim) in shape.enumerated() where d != axis && (dim == nil || dim!.involvesBatch) {
            throw RowRefusal("dimension \(d) of its result may depend on the batch size")
        }
    }

    /// `rowIndex × stride` and `rowIndex × stride + iota` (the flat indices of each row's block, as torch
    /// computes them for attention masks); nil when the operands are something else.
    mutating func indexArithmetic(_ kind: ArithmeticKind, _ inputs: [RowFact?]) throws -> RowFact? {
        guard inputs.count == 2, let a = inputs[0], let b = inputs[1], let ra = a.shape, let rb = b.shape,
              kind == .mul || kind == .add else { return nil }
        let rank = max(ra.count, rb.count)
        let padded = [ra, rb].map { Array(repeating: SymbolicInt(1) as SymbolicInt?, count: rank - $0.count) + $0 }
        for (index, (row, other)) in [(a, b), (b, a)].enumerated() {
            guard case .rowIndex(let axis, let stride, nil) = row.kind else { continue }
            let aligned = axis + rank - (index == 0 ? ra.count : rb.count)
            var shape = (0..<rank).map { d in broadcastDimension(padded.map { $0[d] }) }
            guard padded[1 - index][aligned] == SymbolicInt(1) else { return nil }
            shape[aligned] = .batch
            switch (kind, other.kind) {
            case (.mul, .values(let values)) where values.count == 1:
                guard let factor = values[0], !factor.involvesBatch, let scaled = stride.times(factor) else { return nil }
                try requireUniformDimensions(shape, except: aligned)
                return RowFact(shape: shape, kind: .rowIndex(axis: aligned, stride: scaled, offsetBelow: nil))
            case (.add, .iota(_, let count)) where count == stride:
                try requireUniformDimensions(shape, except: aligned)
                return RowFact(shape: shape, kind: .rowIndex(axis: aligned, stride: stride, offsetBelow: count))
            default:
                return nil
            }
        }
        return nil
    }

    /// `Cast`: integer values keep their contents (a cast to float32 may round them, so they become
    /// unknown); rows and uniform values keep their kind; positions and row indices stay exact only between
    /// integer types.
    mutating func cast(_ x: RowFact, to type: TensorDataType) throws -> RowFact {
        let function: ValueFunction = type == .bool ? .toBool : type == .float32 ? .opaque : .identity
        switch x.kind {
        case .values:
            guard let shape = x.shape, let known = evaluate(function, [x], shape: shape) else { return try elementwise([x], nil) }
            return known
        case .flatRows:
            return x
        case .iota, .rowIndex:
            guard function == .identity else { return try elementwise([x], nil) }
            return x
        default:
            return try elementwise([x], nil)
        }
    }

    // MARK: products

    /// `MatMul` (numpy): the batch axis may be a broadcast batch dimension of both operands, the rows of A,
    /// or the columns of B, never the contracted dimension.
    mutating func matMul(_ a: RowFact, _ b: RowFact) throws -> RowFact {
        let (ra, rb) = (try rank(a, "A"), try rank(b, "B"))
        guard ra >= 1, rb >= 1, let sa = a.shape, let sb = b.shape else { throw RowRefusal("MatMul needs operands of rank 1 or more") }
        let a2 = ra == 1 ? [SymbolicInt(1)] + sa : sa
        let b2 = rb == 1 ? sb + [SymbolicInt(1)] : sb
        let batchRank = max(a2.count, b2.count) - 2
        let batchA = Array(repeating: SymbolicInt(1) as SymbolicInt?, count: batchRank - (a2.count - 2)) + a2.dropLast(2)
        let batchB = Array(repeating: SymbolicInt(1) as SymbolicInt?, count: batchRank - (b2.count - 2)) + b2.dropLast(2)
        var shape = (0..<batchRank).map { broadcastDimension([batchA[$0], batchB[$0]]) }
        if ra > 1 { shape.append(a2[a2.count - 2]) }
        if rb > 1 { shape.append(b2[b2.count - 1]) }
        if isUniform(a) && isUniform(b) { return RowFact(shape: shape, kind: .uniform) }
        let contracted = "it contracts the batch axis (a product sums over the rows of different requests)"
        var axisA: Int?, axisB: Int?
        switch a.kind {
        case .rows(let x):
            if ra == 1 || x == ra - 1 { throw RowRefusal(contracted) }
            axisA = x == ra - 2 ? batchRank : x + batchRank - (ra - 2)
        default: guard isUniform(a) else { throw RowRefusal(misuse(a)) }
        }
        switch b.kind {
        case .rows(let y):
            if rb == 1 || y == rb - 2 { throw RowRefusal(contracted) }
            axisB = y == rb - 1 ? shape.count - 1 : y + batchRank - (rb - 2)
        default: guard isUniform(b) else { throw RowRefusal(misuse(b)) }
        }
        if let axisA, let axisB, axisA != axisB || axisA >= batchRank {
            throw RowRefusal("it multiplies the rows of one request with those of others (batch axes \(axisA) and \(axisB))")
        }
        let axis = axisA ?? axisB!
        if axis < batchRank {
            let other = axisA == nil ? batchA[axis] : batchB[axis]
            if (axisA == nil || axisB == nil) && other != SymbolicInt(1) {
                throw RowRefusal("it broadcasts a constant batch of matrices against the batch axis")
            }
        }
        shape[axis] = .batch
        try requireUniformDimensions(shape, except: axis)
        return RowFact(shape: shape, kind: .rows(axis: axis))
    }

    /// `MatMul` by a packed constant matrix: every leading axis of A is a row axis.
    func packedMatMul(_ a: RowFact, columns: Int) throws -> RowFact {
        guard let shape = a.shape, !shape.isEmpty else { throw RowRefusal("the rank of A is unknown") }
        let result = Array(shape.dropLast()) + [SymbolicInt(columns)]
        if isUniform(a) { return RowFact(shape: result, kind: .uniform) }
        guard case .rows(let x) = a.kind else { throw RowRefusal(misuse(a)) }
        guard x < shape.count - 1 else { throw RowRefusal("it contracts the batch axis (a product sums over the rows of different requests)") }
        return RowFact(shape: result, kind: .rows(axis: x))
    }

    /// `Gemm`: rows of A (axis 0, or 1 when transposed) give rows of Y; B and C must be uniform, and C must
    /// not have a row per batch row.
    func gemm(_ inputs: [RowFact?], transA: Bool, transB: Bool) throws -> RowFact {
        let a = try operand(inputs, 0), b = try operand(inputs, 1)
        let c = inputs.count > 2 ? inputs[2] : nil
        guard let sa = a.shape, let sb = b.shape, sa.count == 2, sb.count == 2 else { throw RowRefusal("Gemm needs rank-2 operands") }
        guard isUniform(b), c.map(isUniform) ?? true else {
            throw RowRefusal("its weight or bias depends on the request (only the first operand may carry the batch rows)")
        }
        let columns = transB ? sb[0] : sb[1]
        if isUniform(a) { return RowFact(shape: [transA ? sa[1] : sa[0], columns], kind: .uniform) }
        guard case .rows(let x) = a.kind else { throw RowRefusal(misuse(a)) }
        guard x == (transA ? 1 : 0) else { throw RowRefusal("it contracts the batch axis (a product sums over the rows of different requests)") }
        if let bias = c?.shape, bias.count == 2, bias[0] != SymbolicInt(1) {
            throw RowRefusal("its bias C has \(bias[0]?.description ?? "?") rows, broadcast against the batch axis")
        }
        try requireUniformDimensions([.batch, columns], except: 0)
        return RowFact(shape: [.batch, columns], kind: .rows(axis: 0))
    }

    /// The fused attention: Q, K and V carry the batch on axis 0; the mask on axis 0 too, or is uniform with
    /// size 1 there. Attention mixes positions along the sequence (axis 1), within each batch row.
    func attention(_ inputs: [RowFact?]) throws -> RowFact {
        let (q, k, v, mask) = (try operand(inputs, 0), try operand(inputs, 1), try operand(inputs, 2), try operand(inputs, 3))
        for (name, fact) in [("query", q), ("key", k), ("value", v)] {
            guard case .rows(axis: 0) = fact.kind, fact.rank == 4 else {
                throw RowRefusal("its \(name) does not carry the batch rows on axis 0")
            }
        }
        switch mask.kind {
        case .rows(axis: 0) where mask.rank == 4: break
        default:
            guard isUniform(mask), let shape = mask.shape, shape.count < 4 || shape[0] == SymbolicInt(1) else {
                throw RowRefusal("its mask is shared across the batch axis in a way the analysis does not follow")
            }
        }
        return RowFact(shape: [.batch, q.shape![2], q.shape![1], v.shape![3]], kind: .rows(axis: 0))
    }

    // MARK: normalisations and reductions

    /// An operator that works along one axis (softmax): any axis but the batch axis.
    func alongAxis(_ x: RowFact, _ value: Int, _ refusal: String) throws -> RowFact {
        if isUniform(x) { return RowFact(shape: x.shape, kind: .uniform) }
        guard case .rows(let b) = x.kind else { throw RowRefusal(misuse(x)) }
        guard try axis(value, rank: try rank(x)) != b else { throw RowRefusal(refusal) }
        return x
    }

    /// `LayerNormalization` normalises over the axes from `axis` on: the batch axis must come before them.
    func layerNorm(_ inputs: [RowFact?], axis value: Int, outputs: Int) throws -> [RowFact] {
        let x = try operand(inputs, 0)
        guard inputs.dropFirst().allSatisfy({ $0.map(isUniform) ?? true }) else {
            throw RowRefusal("its scale or bias depends on the request")
        }
        let r = try rank(x)
        let start = try axis(value, rank: r)
        var statistics = x
        statistics.shape = x.shape.map { shape in shape.indices.map { $0 >= start ? SymbolicInt(1) : shape[$0] } }
        if isUniform(x) { return [x] + Array(repeating: RowFact(shape: statistics.shape, kind: .uniform), count: outputs - 1) }
        guard case .rows(let b) = x.kind else { throw RowRefusal(misuse(x)) }
        guard b < start else { throw RowRefusal("it normalises over the batch axis (mean and variance across requests)") }
        return [x] + Array(repeating: statistics, count: outputs - 1)
    }

    mutating func reduce(_ op: ReduceOperator, _ inputs: [RowFact?]) throws -> RowFact {
        let x = try operand(inputs, 0)
        let r = try rank(x)
        var given: [Int]?
        if inputs.count > 1, let axesFact = inputs[1] {
            guard let axes = constants(axesFact) else { throw RowRefusal("its axes are computed while the model runs") }
            given = axes
        } else {
            given = op.attributeAxes?.map { Int($0) }
        }
        let axes: [Int]
        if let given, !given.isEmpty {
            axes = try given.map { try axis($0, rank: r) }
        } else {
            axes = op.noopWithEmptyAxes ? [] : Array(0..<r)
        }
        return try reduced(x, axes: Set(axes), keepDims: op.keepDims,
                           "\(op.opType) reduces over the batch axis (it combines the rows of different requests)")
    }

    /// The fact of a reduction over `axes`.
    func reduced(_ x: RowFact, axes: Set<Int>, keepDims: Bool, _ refusal: String) throws -> RowFact {
        let shape = x.shape.map { shape in
            var kept: [SymbolicInt?] = []
            for d in shape.indices {
                if !axes.contains(d) { kept.append(shape[d]) } else if keepDims { kept.append(SymbolicInt(1)) }
            }
            return kept
        }
        if isUniform(x) { return RowFact(shape: shape, kind: .uniform) }
        guard case .rows(let b) = x.kind else { throw RowRefusal(misuse(x)) }
        guard !axes.contains(b) else { throw RowRefusal(refusal) }
        return RowFact(shape: shape, kind: .rows(axis: keepDims ? b : b - axes.filter { $0 < b }.count))
    }
}
