/// An integer known only symbolically at load time: `coefficient × atom₁ × atom₂ × …`, where each atom is
/// an integer that is fixed for one request (the batch size, a dynamic dimension of an input, or an
/// otherwise unknown value). Two equal `SymbolicInt`s are equal for every request; unequal ones may still
/// be equal for some request (the analysis never relies on them differing, except through
/// ``isNonNegative`` for comparisons with negative constants).
struct SymbolicInt: Hashable, Sendable, CustomStringConvertible {
    /// Atom number of the batch size (rows of all requests in a run together; at least 1).
    static let batchAtom = 0

    let coefficient: Int
    /// Sorted; empty for a constant.
    let atoms: [Int]

    init(_ constant: Int) {
        coefficient = constant
        atoms = []
    }

    init(coefficient: Int, atoms: [Int]) {
        self.coefficient = coefficient
        self.atoms = coefficient == 0 ? [] : atoms.sorted()
    }

    /// The batch size N.
    static let batch = SymbolicInt(coefficient: 1, atoms: [batchAtom])

    /// The value when it is a constant.
    var constant: Int? { atoms.isEmpty ? coefficient : nil }
    /// Whether the value depends on the batch size.
    var involvesBatch: Bool { atoms.contains(Self.batchAtom) }
    /// Exactly the batch size.
    var isBatch: Bool { self == Self.batch }

    /// `self × other`, nil on overflow.
    func times(_ other: SymbolicInt) -> SymbolicInt? {
        let (product, overflow) = coefficient.multipliedReportingOverflow(by: other.coefficient)
        guard !overflow else { return nil }
        return SymbolicInt(coefficient: product, atoms: atoms + other.atoms)
    }

    /// `self / other` when the division is exact for every request (a sub-product with a dividing
    /// coefficient), else nil.
    func dividedExactly(by other: SymbolicInt) -> SymbolicInt? {
        guard other.coefficient != 0, coefficient % other.coefficient == 0 else { return nil }
        var remaining = atoms
        for atom in other.atoms {
            guard let index = remaining.firstIndex(of: atom) else { return nil }
            remaining.remove(at: index)
        }
        return SymbolicInt(coefficient: coefficient / other.coefficient, atoms: remaining)
    }

    var description: String {
        guard !atoms.isEmpty else { return "\(coefficient)" }
        let names = atoms.map { $0 == Self.batchAtom ? "N" : "s\($0)" }.joined(separator: "·")
        return coefficient == 1 ? names : "\(coefficient)·\(names)"
    }
}

extension Array where Element == SymbolicInt? {
    /// The product of the elements, nil when one is unknown or the product overflows.
    var symbolicProduct: SymbolicInt? {
        var result = SymbolicInt(1)
        for element in self {
            guard let element, let next = result.times(element) else { return nil }
            result = next
        }
        return result
    }
}
