/// Refuses a JSON object that holds keys its policy type does not know: a misspelt key must not silently
/// relax a check. Shared by ``AttestationPolicy`` and ``MinimumTCB``.
enum StrictKeys {
    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Throws `INVALID_POLICY` naming the first unknown key (in sorted order) of the object `decoder` reads.
    /// - Parameters:
    ///   - keys: the known keys.
    ///   - object: the policy key that holds this object (`minimum_tcb`), or nil for the policy itself.
    static func refuseUnknown<Keys: CodingKey & CaseIterable>(
        in decoder: any Decoder, known keys: Keys.Type, object: String? = nil
    ) throws {
        let raw = try decoder.container(keyedBy: AnyKey.self)
        let known = keys.allCases.map(\.stringValue)
        guard let unknown = raw.allKeys.map(\.stringValue).sorted().first(where: { !known.contains($0) }) else { return }
        let (field, what) = object.map { ("\($0).\(unknown)", "`\($0)` key") } ?? (unknown, "policy key")
        throw AttestationError(
            .invalidPolicy, field: field,
            "unknown \(what) `\(unknown)`; the known keys are \((object == nil ? known.sorted() : known).joined(separator: ", "))")
    }
}
