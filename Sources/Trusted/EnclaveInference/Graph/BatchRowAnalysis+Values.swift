/// Element-by-element evaluation of small integer tensors (shape arithmetic) over ``SymbolicInt``s.
extension BatchRowAnalysis {
    /// An element-wise function of integers the analysis evaluates symbolically.
    enum ValueFunction {
        case add, sub, mul, div, min, max, neg
        case equal, less, greater, lessOrEqual, greaterOrEqual
        case and, or, xor, not
        case select          // Where(condition, a, b)
        case identity        // Cast between integer types, or to float32 (exact for shape values)
        case toBool          // Cast to bool
        case opaque          // anything else: known to be uniform when its operands are
    }

    /// Evaluates `function` element-wise (with broadcasting) when every operand is known element by element
    /// and the result is small; nil otherwise.
    mutating func evaluate(_ function: ValueFunction, _ inputs: [RowFact], shape: [SymbolicInt?]) -> RowFact? {
        let outShape = shape.compactMap { $0?.constant }
        guard outShape.count == shape.count, let count = Shape.elementCount(outShape), count <= Self.maxTrackedElements else { return nil }
        var operands: [([SymbolicInt?], [Int])] = []
        for input in inputs {
            guard case .values(let values) = input.kind, let dims = input.shape?.compactMap({ $0?.constant }),
                  dims.count == input.shape?.count else { return nil }
            let padded = Array(repeating: 1, count: outShape.count - dims.count) + dims
            // Strides of the operand in the result's index space (0 along broadcast dimensions).
            var strides = Shape.contiguousStrides(padded)
            for d in padded.indices where padded[d] == 1 { strides[d] = 0 }
            operands.append((values, strides))
        }
        let outStrides = Shape.contiguousStrides(outShape)
        var result: [SymbolicInt?] = []
        for linear in 0..<count {
            var arguments: [SymbolicInt?] = []
            for (values, strides) in operands {
                var offset = 0, rest = linear
                for d in outShape.indices {
                    offset += (rest / outStrides[d]) * strides[d]
                    rest %= outStrides[d]
                }
                arguments.append(offset < values.count ? values[offset] : nil)
            }
            result.append(apply(function, arguments))
        }
        return RowFact(shape: shape, kind: .values(result))
    }

    /// One element of ``evaluate(_:_:shape:)``.
    mutating func apply(_ function: ValueFunction, _ arguments: [SymbolicInt?]) -> SymbolicInt? {
        func bool(_ value: Bool) -> SymbolicInt { SymbolicInt(value ? 1 : 0) }
        let constants = arguments.compactMap { $0?.constant }
        let allConstant = constants.count == arguments.count
        switch function {
        case .identity:
            return arguments.first ?? nil
        case .toBool:
            guard let value = arguments.first ?? nil else { return nil }
            if let c = value.constant { return bool(c != 0) }
            // N ≥ 1, so a positive multiple of a power of N is never 0.
            return value.coefficient > 0 && value.atoms.allSatisfy({ $0 == SymbolicInt.batchAtom }) ? bool(true) : opaque(arguments)
        case .neg:
            guard let value = arguments.first ?? nil else { return nil }
            return SymbolicInt(coefficient: -value.coefficient, atoms: value.atoms)
        case .mul:
            guard arguments.count == 2, let a = arguments[0], let b = arguments[1] else { return nil }
            return a.times(b) ?? opaque(arguments)
        case .add, .sub:
            guard arguments.count == 2, let a = arguments[0], let b = arguments[1] else { return nil }
            let sign = function == .add ? 1 : -1
            if a.atoms == b.atoms || b.coefficient == 0 || a.coefficient == 0 {
                let atoms = a.coefficient == 0 ? b.atoms : a.atoms
                let (sum, overflow) = a.coefficient.addingReportingOverflow(sign * b.coefficient)
                if !overflow { return SymbolicInt(coefficient: sum, atoms: atoms) }
            }
            return opaque(arguments)
        case .div:
            guard arguments.count == 2, let a = arguments[0], let b = arguments[1] else { return nil }
            if allConstant, constants[1] != 0 { return SymbolicInt(constants[0] / constants[1]) }
            return a.dividedExactly(by: b) ?? opaque(arguments)
        case .min, .max:
            if allConstant, !constants.isEmpty { return SymbolicInt(function == .min ? constants.min()! : constants.max()!) }
            if let first = arguments.first, arguments.allSatisfy({ $0 == first }) { return first }
            return opaque(arguments)
        case .equal:
            guard arguments.count == 2, let a = arguments[0], let b = arguments[1] else { return nil }
            if a == b { return bool(true) }
            if allConstant { return bool(false) }
            // A negative constant never equals a value that is ≥ 0 (a dimension, the batch size).
            if let c = a.constant, c < 0, isNonNegative(b) { return bool(false) }
            if let c = b.constant, c < 0, isNonNegative(a) { return bool(false) }
            return opaque(arguments)
        case .less, .greater, .lessOrEqual, .greaterOrEqual:
            guard allConstant, constants.count == 2 else { return opaque(arguments) }
            let (a, b) = (constants[0], constants[1])
            switch function {
            case .less: return bool(a < b)
            case .greater: return bool(a > b)
            case .lessOrEqual: return bool(a <= b)
            default: return bool(a >= b)
            }
        case .and, .or, .xor:
            guard allConstant, constants.count == 2 else { return opaque(arguments) }
            let (a, b) = (constants[0] != 0, constants[1] != 0)
            return bool(function == .and ? a && b : function == .or ? a || b : a != b)
        case .not:
            guard allConstant, let c = constants.first else { return opaque(arguments) }
            return bool(c == 0)
        case .select:
            guard arguments.count == 3 else { return nil }
            if let c = arguments[0]?.constant { return c != 0 ? arguments[1] : arguments[2] }
            if arguments[1] != nil, arguments[1] == arguments[2] { return arguments[1] }
            return opaque(arguments)
        case .opaque:
            return opaque(arguments)
        }
    }
}
