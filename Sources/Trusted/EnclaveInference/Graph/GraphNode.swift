/// One graph node, decoded from `NodeProto`. Empty input names are absent optional inputs.
struct GraphNode: Sendable {
    let name: String
    let opType: String
    let domain: String
    let inputs: [String]
    let outputs: [String]
    let attributes: [String: AttributeValue]

    /// Whether the node is in the default ONNX domain.
    var isDefaultDomain: Bool { domain.isEmpty || domain == "ai.onnx" }

    /// `"Gemm"`, or `"com.microsoft:FusedGemm"` outside the default domain.
    var qualifiedOpType: String { isDefaultDomain ? opType : "\(domain):\(opType)" }

    /// For error messages: `Gemm 'dense2_gemm'`.
    var label: String { "\(opType) '\(name.isEmpty ? (outputs.first ?? "?") : name)'" }
}

// MARK: - attribute access

extension GraphNode {
    func intAttribute(_ key: String, default value: Int64) throws -> Int64 {
        switch attributes[key] {
        case nil: return value
        case .int(let v)?: return v
        default: throw InferenceError.malformed("\(label): attribute '\(key)' must be an integer")
        }
    }

    func floatAttribute(_ key: String, default value: Float) throws -> Float {
        switch attributes[key] {
        case nil: return value
        case .float(let v)?: return v
        default: throw InferenceError.malformed("\(label): attribute '\(key)' must be a float")
        }
    }

    /// Throws for any attribute not in `known`, so that an attribute that changes the meaning of an op is
    /// never silently ignored.
    func requireOnlyAttributes(_ known: Set<String>) throws {
        for key in attributes.keys.sorted() where !known.contains(key) {
            throw InferenceError(.unsupportedOperator, "\(label): attribute '\(key)' is not supported",
                                 operators: ["\(qualifiedOpType)(\(key))"])
        }
    }
}
