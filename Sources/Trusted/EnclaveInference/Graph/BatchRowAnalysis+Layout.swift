/// Transfer rules of ``BatchRowAnalysis`` for operators that move data or compute shapes: Shape, Reshape,
/// Flatten, (Un)Squeeze, Transpose, Expand, ConstantOfShape, Range, Tile, Gather, Concat, Split and Slice.
/// Each may move the batch axis only where the rows of one request stay together and apart from the others.
extension BatchRowAnalysis {
    mutating func layoutTransfer(_ step: ExecutionPlan.Step, _ inputs: [RowFact?]) throws -> [RowFact] {
        switch step.op {
        case let op as ShapeOperator:
            let x = try operand(inputs, 0)
            guard let shape = x.shape else { throw RowRefusal("the rank of its input is unknown") }
            if op.isSize { return [RowFact(shape: [], kind: .values([shape.symbolicProduct]))] }
            func clamp(_ v: Int64) -> Int { min(max(v < 0 ? Int(v) + shape.count : Int(v), 0), shape.count) }
            let lower = clamp(op.start), upper = max(lower, clamp(op.end ?? Int64(shape.count)))
            return [RowFact(shape: [SymbolicInt(upper - lower)], kind: .values(Array(shape[lower..<upper])))]
        case let op as ReshapeOperator:
            return [try reshape(try operand(inputs, 0), inputs[1], allowZero: op.allowZero)]
        case let op as FlattenOperator:
            return [try flatten(try operand(inputs, 0), axis: Int(op.axis))]
        case let op as SqueezeOperator:
            return [try squeeze(try operand(inputs, 0), inputs.count > 1 ? inputs[1] : nil, unsqueeze: op.unsqueeze)]
        case let op as TransposeOperator:
            let x = try operand(inputs, 0)
            let r = try rank(x)
            let perm = op.perm ?? Array((0..<r).reversed())
            guard perm.count == r, Set(perm) == Set(0..<r), let shape = x.shape else { throw RowRefusal("perm \(perm) does not fit rank \(r)") }
            let permuted = perm.map { shape[$0] }
            if isUniform(x) { return [RowFact(shape: permuted, kind: .uniform)] }
            guard case .rows(let b) = x.kind else { throw RowRefusal(misuse(x)) }
            return [RowFact(shape: permuted, kind: .rows(axis: perm.firstIndex(of: b)!))]
        case is ExpandOperator:
            return [try expand(try operand(inputs, 0), inputs[1])]
        case let op as ConstantOfShapeOperator:
            return [try constantOfShape(inputs[0], op)]
        case is RangeOperator:
            return [try range(inputs)]
        case is TileOperator:
            return [try tile(try operand(inputs, 0), inputs[1])]
        case let op as GatherOperator:
            return [try gather(try operand(inputs, 0), try operand(inputs, 1), axis: Int(op.axis))]
        case let op as GatherElementsOperator:
            let (data, indices) = (try operand(inputs, 0), try operand(inputs, 1))
            if isUniform(data) && isUniform(indices) { return [RowFact(shape: indices.shape, kind: .uniform)] }
            guard case .rows(let b) = data.kind, case .rows(b) = indices.kind,
                  try axis(Int(op.axis), rank: try rank(data)) != b else {
                throw RowRefusal("it gathers elements across the batch axis")
            }
            return [indices]
        case let op as ConcatOperator:
            return [try concat(inputs.map { $0 }, axis: Int(op.axis))]
        case let op as SplitOperator:
            return try split(try operand(inputs, 0), inputs.count > 1 ? inputs[1] : nil, axis: Int(op.axis), outputs: op.outputCount)
        case is SliceOperator:
            return [try slice(inputs)]
        default:
            throw RowRefusal("the analysis has no rule for this operator, so it cannot show that it keeps requests apart")
        }
    }

    /// The dimensions a shape vector asks for, each known and (except the batch size) uniform.
    mutating func requestedShape(_ fact: RowFact?, _ role: String) throws -> [SymbolicInt] {
        guard let elements = elements(fact) else { throw RowRefusal("its \(role) is computed from request data") }
        let known = elements.compactMap { $0 }
        guard known.count == elements.count else {
            throw RowRefusal("its \(role) is computed from request data or from the batch size in a way the analysis does not follow")
        }
        return known
    }

    /// `Reshape`: rows (or rows flattened into dimension 0) stay rows when the new first dimension is the
    /// batch size (or inferred as it) and the rest of the shape holds exactly one row.
    mutating func reshape(_ x: RowFact, _ target: RowFact?, allowZero: Bool) throws -> RowFact {
        let requested = try requestedShape(target, "target shape")
        guard let shape = x.shape else { throw RowRefusal("the rank of its input is unknown") }
        var resolved: [SymbolicInt?] = []
        var inferred: Int?
        for (j, t) in requested.enumerated() {
            if t.constant == 0 && !allowZero {
                guard j < shape.count else { throw RowRefusal("its target shape copies dimension \(j) of a rank-\(shape.count) input") }
                resolved.append(shape[j])
            } else if t.constant == -1 {
                guard inferred == nil else { throw RowRefusal("its target shape has two -1s") }
                inferred = j
                resolved.append(nil)
            } else if let c = t.constant, c < 0 {
                throw RowRefusal("its target shape has the negative dimension \(c)")
            } else {
                resolved.append(t)
            }
        }
        if case .values(let values) = x.kind {
            let constants = resolved.compactMap { $0?.constant }
            if constants.count == resolved.count, Shape.elementCount(constants) == values.count {
                return RowFact(shape: resolved, kind: x.kind)
            }
            if inferred != nil, constants.count == resolved.count - 1, let known = Shape.elementCount(constants), known > 0,
               values.count % known == 0 {
                resolved[inferred!] = SymbolicInt(values.count / known)
                return RowFact(shape: resolved, kind: x.kind)
            }
        }
        if isUniform(x) {
            guard !resolved.contains(where: { $0?.involvesBatch ?? false }) else { throw RowRefusal("it reshapes a constant to the batch size") }
            if let j = inferred {
                let known = resolved.enumerated().filter { $0.offset != j }.map(\.element).symbolicProduct
                resolved[j] = known.flatMap { shape.symbolicProduct?.dividedExactly(by: $0) } ?? fresh(nonNegative: true)
            }
            return RowFact(shape: resolved, kind: .uniform)
        }
        // One row's element count.
        let row: SymbolicInt?
        switch x.kind {
        case .rows(axis: 0): row = Array(shape.dropFirst()).symbolicProduct
        case .flatRows(let block): row = (Array(shape.dropFirst()).symbolicProduct).flatMap { block.times($0) }
        case .rows(let b): throw RowRefusal("it reshapes a tensor whose batch rows are on axis \(b), mixing them")
        default: throw RowRefusal(misuse(x))
        }
        guard let row, !row.involvesBatch else { throw RowRefusal("the size of one row of its input is unknown") }
        if resolved.count == 1, inferred == 0 {
            return RowFact(shape: [SymbolicInt.batch.times(row)], kind: .flatRows(block: row))
        }
        let rest = Array(resolved.dropFirst())
        if inferred == 0 {
            guard rest.symbolicProduct == row else {
                throw RowRefusal("it reshapes across the batch axis (its inferred first dimension is not one per input row)")
            }
        } else if resolved.first == .batch {
            if let j = inferred {
                let known = rest.enumerated().filter { $0.offset != j - 1 }.map(\.element).symbolicProduct
                guard let known, !known.involvesBatch else { throw RowRefusal("its target shape depends on the batch size beyond axis 0") }
                resolved[j] = row.dividedExactly(by: known) ?? fresh(nonNegative: true)
            } else if rest.symbolicProduct != row {
                throw RowRefusal("it reshapes across the batch axis (the new rows do not hold exactly one input row each)")
            }
        } else {
            throw RowRefusal("it reshapes across the batch axis (its new first dimension is not the batch size)")
        }
        resolved[0] = .batch
        try requireUniformDimensions(resolved, except: 0)
        return RowFact(shape: resolved, kind: .rows(axis: 0))
    }

    /// `Flatten(axis)`: `[N, …]` to `[N, row]` at axis 1, or rows flattened into dimension 0 beyond it.
    func flatten(_ x: RowFact, axis value: Int) throws -> RowFact {
        guard let shape = x.shape else { throw RowRefusal("the rank of its input is unknown") }
        let k = try axis(value, rank: shape.count, allowRank: true)
        let outer = Array(shape[..<k]).symbolicProduct, inner = Array(shape[k...]).symbolicProduct
        if isUniform(x) { return RowFact(shape: [outer, inner], kind: .uniform) }
        guard case .rows(0) = x.kind else {
            if case .rows(let b) = x.kind { throw RowRefusal("it flattens a tensor whose batch rows are on axis \(b), mixing them") }
            throw RowRefusal(misuse(x))
        }
        guard k > 0 else { throw RowRefusal("it flattens the batch axis into the columns (axis 0)") }
        if k == 1 { return RowFact(shape: [.batch, inner], kind: .rows(axis: 0)) }
        guard let block = Array(shape[1..<k]).symbolicProduct else { throw RowRefusal("the size of one row of its input is unknown") }
        return RowFact(shape: [outer, inner], kind: .flatRows(block: block))
    }

    /// `Squeeze` / `Unsqueeze`: the batch axis moves with the others and is never squeezed.
    mutating func squeeze(_ x: RowFact, _ axesFact: RowFact?, unsqueeze: Bool) throws -> RowFact {
        guard let shape = x.shape else {
            if isUniform(x) { return RowFact(shape: nil, kind: .uniform) }
            throw RowRefusal("the rank of its input is unknown")
        }
        var given: [Int]?
        if let axesFact {
            guard let axes = constants(axesFact) else { throw RowRefusal("its axes are computed while the model runs") }
            given = axes
        }
        // Old axis → new axis.
        var mapping: [Int: Int] = [:]
        var result: [SymbolicInt?] = []
        if unsqueeze {
            let rank = shape.count + (given?.count ?? 0)
            let inserted = Set(try (given ?? []).map { try axis($0, rank: rank) })
            var source = 0
            for d in 0..<rank {
                if inserted.contains(d) { result.append(SymbolicInt(1)) } else { mapping[source] = d; result.append(shape[source]); source += 1 }
            }
        } else {
            let removed: Set<Int>
            if let given {
                removed = Set(try given.map { try axis($0, rank: shape.count) })
            } else {
                guard shape.allSatisfy({ $0?.constant != nil }) else {
                    if isUniform(x) { return RowFact(shape: nil, kind: .uniform) }
                    throw RowRefusal("it squeezes every axis of size 1 of a tensor whose sizes are not all known")
                }
                removed = Set(shape.indices.filter { shape[$0] == SymbolicInt(1) })
            }
            for d in shape.indices where !removed.contains(d) { mapping[d] = result.count; result.append(shape[d]) }
        }
        switch x.kind {
        case .uniform, .values: return RowFact(shape: result, kind: x.kind)
        case .rows(let b):
            guard let moved = mapping[b] else { throw RowRefusal("it squeezes the batch axis") }
            return RowFact(shape: result, kind: .rows(axis: moved))
        case .iota(let b, let count):
            guard let moved = mapping[b] else { return RowFact(shape: result, kind: .uniform) }
            return RowFact(shape: result, kind: .iota(axis: moved, count: count))
        case .rowIndex(let b, let stride, let offset):
            guard let moved = mapping[b] else { throw RowRefusal("it squeezes the batch axis") }
            return RowFact(shape: result, kind: .rowIndex(axis: moved, stride: stride, offsetBelow: offset))
        case .flatRows:
            guard mapping[0] == 0 else { throw RowRefusal("it moves rows flattened across the batch axis") }
            return RowFact(shape: result, kind: x.kind)
        }
    }

    /// `Expand`: the batch axis may come from the input, or from a target dimension equal to the batch
    /// size where the input has size 1 (every row then holds the same constant).
    mutating func expand(_ x: RowFact, _ target: RowFact?) throws -> RowFact {
        let requested = try requestedShape(target, "target shape")
        guard let shape = x.shape else { throw RowRefusal("the rank of its input is unknown") }
        let rank = max(shape.count, requested.count)
        let paddedX = Array(repeating: SymbolicInt(1) as SymbolicInt?, count: rank - shape.count) + shape
        let paddedT = Array(repeating: SymbolicInt(1), count: rank - requested.count) + requested
        var result: [SymbolicInt?] = []
        for d in 0..<rank {
            let (xd, t) = (paddedX[d], paddedT[d])
            result.append(xd == t || t == SymbolicInt(1) ? xd : xd == SymbolicInt(1) ? t : broadcastDimension([xd, t]))
        }
        let batchAxes = result.indices.filter { result[$0]?.involvesBatch ?? true }
        if isUniform(x) {
            guard !batchAxes.isEmpty else { return RowFact(shape: result, kind: .uniform) }
            guard batchAxes.count == 1, result[batchAxes[0]] == .batch else {
                throw RowRefusal("it expands a constant to a shape that depends on the batch size in a way the analysis does not follow")
            }
            return RowFact(shape: result, kind: .rows(axis: batchAxes[0]))
        }
        guard case .rows(let b) = x.kind else { throw RowRefusal(misuse(x)) }
        let aligned = b + rank - shape.count
        guard batchAxes == [aligned], result[aligned] == .batch else {
            throw RowRefusal("it expands across the batch axis")
        }
        return RowFact(shape: result, kind: .rows(axis: aligned))
    }

    /// `ConstantOfShape`: uniform, or constant rows when one requested dimension is the batch size.
    mutating func constantOfShape(_ target: RowFact?, _ op: ConstantOfShapeOperator) throws -> RowFact {
        let requested = try requestedShape(target, "shape")
        let batchAxes = requested.indices.filter { requested[$0].involvesBatch }
        if batchAxes.isEmpty {
            let dims = requested.compactMap(\.constant)
            if op.dtype != .float32, dims.count == requested.count, let count = Shape.elementCount(dims), count <= Self.maxTrackedElements {
                let fill = op.value.withUnsafeBytes { TensorView(dtype: op.dtype, shape: [], bytes: $0).integers.first ?? 0 }
                return RowFact(shape: requested, kind: .values(Array(repeating: SymbolicInt(fill), count: count)))
            }
            return RowFact(shape: requested, kind: .uniform)
        }
        guard batchAxes.count == 1, requested[batchAxes[0]] == .batch else {
            throw RowRefusal("its shape depends on the batch size in a way the analysis does not follow")
        }
        return RowFact(shape: requested, kind: .rows(axis: batchAxes[0]))
    }

    /// `Range(start, limit, delta)`: uniform bounds give uniform values (positions when they are 0 and 1);
    /// `Range(0, N, 1)` gives the row index.
    mutating func range(_ inputs: [RowFact?]) throws -> RowFact {
        var bounds: [SymbolicInt] = []
        for index in 0..<3 {
            let values = try requestedShape(try operand(inputs, index), "bounds")
            guard values.count == 1 else { throw RowRefusal("its bounds are not scalars") }
            bounds.append(values[0])
        }
        let (start, limit, delta) = (bounds[0], bounds[1], bounds[2])
        let unit = start == SymbolicInt(0) && delta == SymbolicInt(1)
        guard !limit.involvesBatch else {
            guard unit, limit.isBatch else { throw RowRefusal("its bounds depend on the batch size") }
            return RowFact(shape: [.batch], kind: .rowIndex(axis: 0, stride: SymbolicInt(1), offsetBelow: nil))
        }
        guard !start.involvesBatch, !delta.involvesBatch else { throw RowRefusal("its bounds depend on the batch size") }
        if unit, isNonNegative(limit) { return RowFact(shape: [limit], kind: .iota(axis: 0, count: limit)) }
        return RowFact(shape: [fresh(nonNegative: true)], kind: .uniform)
    }

    /// `Tile`: repeats must be uniform and 1 along the batch axis.
    mutating func tile(_ x: RowFact, _ repeatsFact: RowFact?) throws -> RowFact {
        let repeats = try requestedShape(repeatsFact, "repeats")
        guard let shape = x.shape, shape.count == repeats.count else { throw RowRefusal("its repeats do not fit its input") }
        let result = zip(shape, repeats).map { d, r in d.flatMap { $0.times(r) } }
        if isUniform(x), !repeats.contains(where: \.involvesBatch) { return RowFact(shape: result, kind: .uniform) }
        guard case .rows(let b) = x.kind else { throw RowRefusal(misuse(x)) }
        guard repeats[b] == SymbolicInt(1) else { throw RowRefusal("it tiles along the batch axis") }
        var tiled = result
        tiled[b] = .batch
        try requireUniformDimensions(tiled, except: b)
        return RowFact(shape: tiled, kind: .rows(axis: b))
    }
}
