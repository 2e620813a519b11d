/// Transfer rules of ``BatchRowAnalysis`` for operators that select or join parts of tensors: Gather,
/// Concat, Split and Slice. None may pick, join or cut along the batch axis; the one exception is a Gather
/// of each row's own block out of rows flattened into dimension 0 (torch's attention-mask gather).
extension BatchRowAnalysis {
    /// `Gather(data, indices, axis)`: output shape `data[..<axis] + indices + data[axis+1...]`.
    mutating func gather(_ data: RowFact, _ indices: RowFact, axis value: Int) throws -> RowFact {
        guard let dataShape = data.shape, let indexShape = indices.shape else { throw RowRefusal("the rank of an operand is unknown") }
        let a = try axis(value, rank: dataShape.count)
        let shape = Array(dataShape[..<a]) + indexShape + Array(dataShape[(a + 1)...])
        // Picking elements of a small integer vector (a shape).
        if case .values(let values) = data.kind, dataShape.count == 1, let size = dataShape[0]?.constant,
           let picks = constants(indices), Shape.elementCount(indexShape.compactMap { $0?.constant }) == picks.count {
            guard picks.allSatisfy({ $0 >= -size && $0 < size }) else { throw RowRefusal("an index is out of range") }
            return RowFact(shape: shape, kind: .values(picks.map { values[$0 < 0 ? $0 + size : $0] }))
        }
        if isUniform(data) && isUniform(indices) { return RowFact(shape: shape, kind: .uniform) }
        switch (data.kind, indices.kind) {
        case (_, .rows(let b)) where isUniform(data):
            // A lookup in a constant table (embeddings): row i of the result reads row i of the indices.
            return RowFact(shape: shape, kind: .rows(axis: a + b))
        case (.rows(let b), _) where isUniform(indices):
            guard b != a else { throw RowRefusal("it gathers along the batch axis (it picks rows of other requests by index)") }
            return RowFact(shape: shape, kind: .rows(axis: b < a ? b : b - 1 + indexShape.count))
        case (.flatRows(let block), .rowIndex(let r, let stride, let offset)) where a == 0:
            guard stride == block, offset == nil || offset == block else {
                throw RowRefusal("its indices are not each row's own block of the flattened rows")
            }
            return RowFact(shape: shape, kind: .rows(axis: r))
        case (.rows, .rows), (.flatRows, _):
            throw RowRefusal("it gathers across the batch axis (the indices of one request reach the rows of others)")
        default:
            throw RowRefusal(misuse(isUniform(data) ? indices : data))
        }
    }

    /// `Concat(axis)`: shape vectors join element by element; rows join along any axis but the batch axis.
    mutating func concat(_ inputs: [RowFact?], axis value: Int) throws -> RowFact {
        let parts = inputs.compactMap { $0 }
        guard parts.count == inputs.count, let first = parts.first, let r = first.rank else {
            throw RowRefusal("the rank of an operand is unknown")
        }
        let a = try axis(value, rank: r)
        guard parts.allSatisfy({ $0.rank == r }) else { throw RowRefusal("its operands have different ranks") }
        let joined = parts.map { $0.shape![a] }
        let size = joined.allSatisfy { $0?.constant != nil } ? SymbolicInt(joined.reduce(0) { $0 + $1!.constant! })
            : joined.contains(where: { $0?.involvesBatch ?? true }) ? nil : fresh(nonNegative: true)
        var shape = first.shape!
        shape[a] = size
        if r == 1, parts.contains(where: { if case .values = $0.kind { true } else { false } }) {
            // Shape vectors: join element by element (a uniform vector of known length joins as new atoms).
            var values: [SymbolicInt?] = []
            for part in parts {
                guard let elements = elements(part) else { values = []; break }
                values += elements
            }
            if values.count > 0 || parts.allSatisfy({ $0.shape == [SymbolicInt(0)] }) {
                return RowFact(shape: [SymbolicInt(values.count)], kind: .values(values))
            }
        }
        if parts.allSatisfy(isUniform) { return RowFact(shape: shape, kind: .uniform) }
        var batchAxis: Int?
        for part in parts {
            guard case .rows(let b) = part.kind else {
                throw RowRefusal(isUniform(part) ? "it concatenates a constant with the batch rows" : misuse(part))
            }
            guard batchAxis == nil || batchAxis == b else { throw RowRefusal("it concatenates tensors whose batch rows are on different axes") }
            batchAxis = b
        }
        guard let b = batchAxis, b != a else { throw RowRefusal("it concatenates along the batch axis (rows of different requests meet)") }
        try requireUniformDimensions(shape, except: b)
        return RowFact(shape: shape, kind: .rows(axis: b))
    }

    /// `Split(axis)`: any axis but the batch axis.
    mutating func split(_ x: RowFact, _ sizesFact: RowFact?, axis value: Int, outputs: Int) throws -> [RowFact] {
        guard let shape = x.shape else { throw RowRefusal("the rank of its input is unknown") }
        let a = try axis(value, rank: shape.count)
        var sizes: [SymbolicInt?] = []
        if let sizesFact {
            sizes = try requestedShape(sizesFact, "split sizes")
            guard sizes.count == outputs, !sizes.contains(where: { $0?.involvesBatch ?? true }) else {
                throw RowRefusal("its split sizes depend on the batch size")
            }
        } else {
            sizes = (0..<outputs).map { _ in shape[a]?.involvesBatch == false ? fresh(nonNegative: true) : nil }
        }
        func part(_ size: SymbolicInt?, _ kind: RowFact.Kind) -> RowFact {
            var s = shape
            s[a] = size
            return RowFact(shape: s, kind: kind)
        }
        if isUniform(x) { return sizes.map { part($0, .uniform) } }
        guard case .rows(let b) = x.kind else { throw RowRefusal(misuse(x)) }
        guard b != a else { throw RowRefusal("it splits along the batch axis (its parts hold the rows of different requests)") }
        return sizes.map { part($0, .rows(axis: b)) }
    }

    /// `Slice(data, starts, ends, axes, steps)`: uniform bounds, never along the batch axis.
    mutating func slice(_ inputs: [RowFact?]) throws -> RowFact {
        let data = try operand(inputs, 0)
        guard let shape = data.shape else { throw RowRefusal("the rank of its input is unknown") }
        let starts = try requestedShape(try operand(inputs, 1), "starts")
        let ends = try requestedShape(try operand(inputs, 2), "ends")
        var axes = Array(0..<starts.count)
        if inputs.count > 3, let axesFact = inputs[3] {
            guard let given = constants(axesFact) else { throw RowRefusal("its axes are computed while the model runs") }
            axes = try given.map { try axis($0, rank: shape.count) }
        }
        var steps = Array(repeating: SymbolicInt(1), count: starts.count)
        if inputs.count > 4, let stepsFact = inputs[4] { steps = try requestedShape(stepsFact, "steps") }
        guard ends.count == starts.count, axes.count == starts.count, steps.count == starts.count else {
            throw RowRefusal("its starts, ends, axes and steps differ in length")
        }
        guard !(starts + ends + steps).contains(where: \.involvesBatch) else { throw RowRefusal("its bounds depend on the batch size") }
        var result = shape
        for (k, a) in axes.enumerated() {
            if let size = shape[a]?.constant, let s = starts[k].constant, let e = ends[k].constant, let step = steps[k].constant, step > 0 {
                func clamp(_ v: Int) -> Int { min(max(v < 0 ? v + size : v, 0), size) }
                result[a] = SymbolicInt(max(0, (clamp(e) - clamp(s) + step - 1) / step))
            } else {
                result[a] = fresh(nonNegative: true)
            }
        }
        if case .values(let values) = data.kind, shape.count == 1, let size = shape[0]?.constant, let count = result[0]?.constant,
           axes == [0], let s = starts[0].constant, let step = steps[0].constant, step > 0 {
            let first = min(max(s < 0 ? s + size : s, 0), size)
            return RowFact(shape: result, kind: .values((0..<count).map { values[first + $0 * step] }))
        }
        if isUniform(data) { return RowFact(shape: result, kind: .uniform) }
        guard case .rows(let b) = data.kind else { throw RowRefusal(misuse(data)) }
        guard !axes.contains(b) else { throw RowRefusal("it slices along the batch axis (it keeps some requests' rows and drops others)") }
        return RowFact(shape: result, kind: .rows(axis: b))
    }
}
