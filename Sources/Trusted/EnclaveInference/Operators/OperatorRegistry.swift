/// The operators Enclava implements, and how each is built from a node.
enum OperatorRegistry {
    /// Supported op types of the default ONNX domain (`Constant` is folded into the weights at load time).
    static let supported: Set<String> = [
        "Abs", "Add", "And", "ArgMax", "ArgMin", "Cast", "CastLike", "Ceil", "Celu", "Clip", "Concat", "Constant",
        "ConstantOfShape", "Cos", "Div", "Elu", "Equal", "Erf", "Exp", "Expand", "Flatten", "Floor", "Gather",
        "GatherElements", "Gelu", "Gemm", "Greater", "GreaterOrEqual", "HardSigmoid", "HardSwish", "Identity", "IsInf",
        "IsNaN", "LayerNormalization", "LeakyRelu", "Less", "LessOrEqual", "Log", "LogSoftmax", "MatMul", "Max", "Mean",
        "Min", "Mish", "Mod", "Mul", "Neg", "Not", "Or", "Pow", "Range", "Reciprocal", "ReduceL1", "ReduceL2",
        "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSum",
        "ReduceSumSquare", "Relu", "Reshape", "Round", "Selu", "Shape", "Sigmoid", "Sign", "Sin", "Size", "Slice",
        "Softmax", "Softplus", "Softsign", "Split", "Sqrt", "Squeeze", "Sub", "Sum", "Swish", "Tanh", "ThresholdedRelu",
        "Tile", "Transpose", "Unsqueeze", "Where", "Xor",
    ]

    /// Supported default-domain opset versions.
    static let opsetRange: ClosedRange<Int64> = 13...28

    /// Every op type in `nodes` that is not supported, sorted and without duplicates.
    static func unsupported(in nodes: [GraphNode]) -> [String] {
        Set(nodes.filter { !$0.isDefaultDomain || !supported.contains($0.opType) }.map(\.qualifiedOpType)).sorted()
    }

    /// Builds the operator for a (supported, non-Constant) node.
    /// - Parameter weights: where attribute tensors (such as ConstantOfShape's value) are.
    /// - Throws: ``InferenceError`` for bad or unsupported attributes and wrong input/output counts.
    static func make(_ node: GraphNode, opset: Int64, weights: WeightStore) throws -> any ExecutableOperator {
        switch node.opType {
        case "MatMul": return try MatMulOperator(node)
        case "Gemm": return try GemmOperator(node)
        case "Add": return try BinaryOperator(node, .add)
        case "Sub": return try BinaryOperator(node, .sub)
        case "Mul": return try BinaryOperator(node, .mul)
        case "Div": return try BinaryOperator(node, .div)
        case "Pow": return try BinaryOperator(node, .pow)
        case "Mod": return try BinaryOperator(node, .mod)
        case "Min": return try VariadicOperator(node, .min)
        case "Max": return try VariadicOperator(node, .max)
        case "Sum": return try VariadicOperator(node, .add)
        case "Mean": return try VariadicOperator(node, .mean)
        case "Relu": return try UnaryOperator(node, .kernel(.relu))
        case "Sigmoid": return try UnaryOperator(node, .kernel(.sigmoid))
        case "Exp": return try UnaryOperator(node, .kernel(.exp))
        case "Tanh": return try UnaryOperator(node, .kernel(.tanh))
        case "Erf": return try UnaryOperator(node, .kernel(.erf))
        case "Gelu": return try UnaryOperator(node, .kernel(.gelu))
        case "Sqrt": return try UnaryOperator(node, .sqrt)
        case "Log": return try UnaryOperator(node, .log)
        case "Neg": return try UnaryOperator(node, .neg)
        case "Abs": return try UnaryOperator(node, .abs)
        case "Reciprocal": return try UnaryOperator(node, .reciprocal)
        case "Ceil": return try UnaryOperator(node, .ceil)
        case "Floor": return try UnaryOperator(node, .floor)
        case "Round": return try UnaryOperator(node, .round)
        case "Sin": return try UnaryOperator(node, .sin)
        case "Cos": return try UnaryOperator(node, .cos)
        case "Softplus": return try UnaryOperator(node, .softplus)
        case "Softsign": return try UnaryOperator(node, .softsign)
        case "Sign": return try UnaryOperator(node, .sign)
        case "HardSwish": return try UnaryOperator(node, .hardSwish)
        case "Mish": return try UnaryOperator(node, .mish)
        case "Elu", "LeakyRelu", "Celu", "ThresholdedRelu", "HardSigmoid", "Selu", "Swish":
            return try UnaryOperator(node, .sqrt)   // the function comes from the op type and its attributes
        case "Clip": return try ClipOperator(node)
        case "Softmax": return try SoftmaxOperator(node)
        case "LogSoftmax": return try SoftmaxOperator(node, log: true)
        case "LayerNormalization": return try LayerNormOperator(node)
        case "Flatten": return try FlattenOperator(node)
        case "Identity": return try IdentityOperator(node)
        case "Shape": return try ShapeOperator(node, size: false)
        case "Size": return try ShapeOperator(node, size: true)
        case "Reshape": return try ReshapeOperator(node)
        case "Unsqueeze": return try SqueezeOperator(node, unsqueeze: true)
        case "Squeeze": return try SqueezeOperator(node, unsqueeze: false)
        case "Expand": return try ExpandOperator(node)
        case "ConstantOfShape": return try ConstantOfShapeOperator(node, weights: weights)
        case "Range": return try RangeOperator(node)
        case "Gather": return try GatherOperator(node)
        case "GatherElements": return try GatherElementsOperator(node)
        case "Transpose": return try TransposeOperator(node)
        case "Slice": return try SliceOperator(node)
        case "Concat": return try ConcatOperator(node)
        case "Split": return try SplitOperator(node)
        case "Tile": return try TileOperator(node)
        case "Cast": return try CastOperator(node, like: false)
        case "CastLike": return try CastOperator(node, like: true)
        case "Equal": return try CompareOperator(node, .equal)
        case "Less": return try CompareOperator(node, .less)
        case "Greater": return try CompareOperator(node, .greater)
        case "LessOrEqual": return try CompareOperator(node, .lessOrEqual)
        case "GreaterOrEqual": return try CompareOperator(node, .greaterOrEqual)
        case "And": return try LogicOperator(node, .and)
        case "Or": return try LogicOperator(node, .or)
        case "Xor": return try LogicOperator(node, .xor)
        case "Not": return try PredicateOperator(node, .not)
        case "IsNaN": return try PredicateOperator(node, .isNaN)
        case "IsInf": return try PredicateOperator(node, .isInf(positive: true, negative: true))
        case "Where": return try WhereOperator(node)
        case "ReduceMean": return try ReduceOperator(node, .mean)
        case "ReduceSum": return try ReduceOperator(node, .sum)
        case "ReduceMax": return try ReduceOperator(node, .max)
        case "ReduceMin": return try ReduceOperator(node, .min)
        case "ReduceProd": return try ReduceOperator(node, .prod)
        case "ReduceL1": return try ReduceOperator(node, .l1)
        case "ReduceL2": return try ReduceOperator(node, .l2)
        case "ReduceSumSquare": return try ReduceOperator(node, .sumSquare)
        case "ReduceLogSum": return try ReduceOperator(node, .logSum)
        case "ReduceLogSumExp": return try ReduceOperator(node, .logSumExp)
        case "ArgMax": return try ArgReduceOperator(node, max: true)
        case "ArgMin": return try ArgReduceOperator(node, max: false)
        default:
            throw InferenceError(.unsupportedOperator, "operator \(node.qualifiedOpType) is not supported",
                                 operators: [node.qualifiedOpType])
        }
    }
}
