/// The inputs and outputs a packaged model declares (names, dtypes, shapes), recorded in the signed header
/// at packaging time so that `enclava inspect` shows them without a key. Public by design: it is the model's
/// calling convention, not its weights.
public struct ImageModelInterface: Codable, Sendable, Equatable {
    /// One input or output.
    public struct Tensor: Codable, Sendable, Equatable {
        /// The graph value's name, e.g. `features`.
        public var name: String
        /// `float32`, `int64`, `int32`, `bool`, …
        public var dtype: String
        /// One entry per dimension: a size (`"8"`), a dynamic dimension's name (`"N"`), or `"?"`. Nil when the
        /// model declares no shape.
        public var dims: [String]?

        /// Creates a row.
        public init(name: String, dtype: String, dims: [String]?) {
            self.name = name
            self.dtype = dtype
            self.dims = dims
        }

        /// `features: float32 [N, 8]`.
        public var text: String { "\(name): \(dtype) " + (dims.map { "[" + $0.joined(separator: ", ") + "]" } ?? "[?]") }
    }

    /// The model's inputs, in graph order.
    public var inputs: [Tensor]
    /// The model's outputs, in graph order.
    public var outputs: [Tensor]

    /// Creates an interface.
    public init(inputs: [Tensor], outputs: [Tensor]) {
        self.inputs = inputs
        self.outputs = outputs
    }

    /// Most rows, characters per name and dimensions per shape a header may carry (it is read before anything
    /// else is trusted, so it is bounded like every other header field).
    static let maxTensors = 256, maxNameBytes = 1024, maxDims = 32
}

extension ImageHeaderCoding {
    static func message(_ interface: ImageModelInterface) -> Enclava_Image_V1_ModelInterface {
        func row(_ tensor: ImageModelInterface.Tensor) -> Enclava_Image_V1_TensorInterface {
            var message = Enclava_Image_V1_TensorInterface()
            message.name = tensor.name
            message.dtype = tensor.dtype
            message.dims = tensor.dims ?? []
            message.rankUnknown = tensor.dims == nil
            return message
        }
        var message = Enclava_Image_V1_ModelInterface()
        message.inputs = interface.inputs.map(row)
        message.outputs = interface.outputs.map(row)
        return message
    }

    /// The recorded model interface, bounded; nil when the image has none (packaged before it was recorded).
    static func modelInterface(_ header: Header, path: String) throws -> ImageModelInterface? {
        guard header.hasModelInterface else { return nil }
        let message = header.modelInterface
        func corrupt(_ why: String) -> ImageError {
            ImageError(.corruptHeader, "the image header's model interface is inconsistent (\(why)); repackage the image", path: path)
        }
        let limit = ImageModelInterface.self
        guard message.inputs.count + message.outputs.count <= limit.maxTensors else {
            throw corrupt("\(message.inputs.count + message.outputs.count) tensors")
        }
        func row(_ tensor: Enclava_Image_V1_TensorInterface) throws -> ImageModelInterface.Tensor {
            guard tensor.name.utf8.count <= limit.maxNameBytes, tensor.dtype.utf8.count <= 32,
                  tensor.dims.count <= limit.maxDims, tensor.dims.allSatisfy({ $0.utf8.count <= limit.maxNameBytes }),
                  !(tensor.rankUnknown && !tensor.dims.isEmpty) else {
                throw corrupt("tensor \(tensor.name.prefix(64))")
            }
            return ImageModelInterface.Tensor(name: tensor.name, dtype: tensor.dtype, dims: tensor.rankUnknown ? nil : tensor.dims)
        }
        return ImageModelInterface(inputs: try message.inputs.map(row), outputs: try message.outputs.map(row))
    }
}
