import CEnclavaClient
import EnclavaClient
import Foundation

/// Conversions between the C ABI's `enclava_tensor` arrays and ``Tensor``s. Every length the caller gives is
/// checked before it is read (a NULL with a non-zero length, a rank over 16, a byte count that does not fit).
enum CTensors {
    /// The most inputs or texts one call may carry (the enclave has its own, smaller bounds).
    static let maxCount = 4096

    /// Reads `count` borrowed input tensors.
    /// - Throws: ``CABIError`` `invalidArgument` naming the tensor, or ``ClientError`` `invalidInput` from ``Tensor``.
    static func inputs(_ pointer: UnsafePointer<enclava_tensor>?, count: Int) throws -> [String: Tensor] {
        guard count <= maxCount else { throw CABIError(.invalidArgument, "\(count) inputs given; at most \(maxCount)") }
        guard count == 0 || pointer != nil else { throw CABIError(.invalidArgument, "inputs is NULL but input_count is \(count)") }
        var result: [String: Tensor] = [:]
        for index in 0..<count {
            let raw = pointer![index]
            guard let namePointer = raw.name else { throw CABIError(.invalidArgument, "input #\(index) has a NULL name") }
            let name = String(cString: namePointer)
            guard !name.isEmpty else { throw CABIError(.invalidArgument, "input #\(index) has an empty name") }
            guard result[name] == nil else { throw CABIError(.invalidArgument, "input `\(name)` is given twice") }
            result[name] = try tensor(raw, label: "input `\(name)`")
        }
        return result
    }

    /// Reads one borrowed tensor (its name aside); `label` names it in errors.
    /// - Throws: ``CABIError`` `invalidArgument`.
    static func tensor(_ raw: enclava_tensor, label: String) throws -> Tensor {
        guard let dtype = dataType(raw.dtype) else {
            throw CABIError(.invalidArgument, "\(label) has dtype \(raw.dtype); use float32 (1), int32 (6), int64 (7) or bool (9)")
        }
        guard raw.rank <= 16 else { throw CABIError(.invalidArgument, "\(label) has rank \(raw.rank); at most 16") }
        guard raw.rank == 0 || raw.shape != nil else { throw CABIError(.invalidArgument, "\(label) has a NULL shape") }
        let shape = (0..<Int(raw.rank)).map { Int(raw.shape![$0]) }
        let expected: Int
        do {
            expected = try Tensor.elementCount(shape) * dtype.byteWidth
        } catch let error as ClientError {
            throw CABIError(.invalidArgument, "\(label): \(error.message)")
        }
        guard raw.data_length == expected else {
            throw CABIError(.invalidArgument, "\(label) (\(dtype.rawValue), shape \(shape)) needs \(expected) bytes, "
                            + "but data_length is \(raw.data_length)")
        }
        guard expected == 0 || raw.data != nil else { throw CABIError(.invalidArgument, "\(label) has NULL data") }
        let bytes = expected == 0 ? [] : [UInt8](UnsafeRawBufferPointer(start: raw.data, count: expected))
        do {
            return try Tensor(dtype: dtype, shape: shape, data: bytes)
        } catch let error as ClientError {
            throw CABIError(.invalidArgument, "\(label): \(error.message)")
        }
    }

    /// Reads `count` borrowed NUL-terminated texts.
    /// - Throws: ``CABIError`` `invalidArgument`.
    static func texts(_ pointer: UnsafePointer<UnsafePointer<CChar>?>?, count: Int) throws -> [String] {
        guard count <= maxCount else { throw CABIError(.invalidArgument, "\(count) texts given; at most \(maxCount)") }
        guard count == 0 || pointer != nil else { throw CABIError(.invalidArgument, "texts is NULL but text_count is \(count)") }
        return try (0..<count).map { index in
            guard let text = pointer![index] else { throw CABIError(.invalidArgument, "text #\(index) is NULL") }
            return String(cString: text)
        }
    }

    /// Copies outputs into a newly allocated array the caller frees with ``free(_:count:)``, sorted by name.
    static func allocate(_ outputs: [String: Tensor]) -> (UnsafeMutablePointer<enclava_tensor>, Int) {
        let names = outputs.keys.sorted()
        let array = UnsafeMutablePointer<enclava_tensor>.allocate(capacity: max(1, names.count))
        for (index, name) in names.enumerated() {
            let tensor = outputs[name]!
            let shape = UnsafeMutablePointer<Int64>.allocate(capacity: max(1, tensor.shape.count))
            for (dim, value) in tensor.shape.enumerated() { shape[dim] = Int64(value) }
            let data = UnsafeMutableRawPointer.allocate(byteCount: max(1, tensor.data.count), alignment: 16)
            tensor.data.withUnsafeBytes { data.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            array.advanced(by: index).initialize(to: enclava_tensor(
                name: UnsafePointer(strdup(name)), dtype: code(tensor.dtype), shape: UnsafePointer(shape),
                rank: tensor.shape.count, data: UnsafeRawPointer(data), data_length: tensor.data.count))
        }
        return (array, names.count)
    }

    /// Frees an array made by ``allocate(_:)``.
    static func free(_ array: UnsafeMutablePointer<enclava_tensor>?, count: Int) {
        guard let array else { return }
        for index in 0..<count {
            let tensor = array[index]
            Foundation.free(UnsafeMutablePointer(mutating: tensor.name))
            UnsafeMutablePointer(mutating: tensor.shape)?.deallocate()
            UnsafeMutableRawPointer(mutating: tensor.data)?.deallocate()
        }
        array.deinitialize(count: count)
        array.deallocate()
    }

    static func dataType(_ code: Int32) -> Tensor.DataType? {
        switch code {
        case 1: .float32
        case 6: .int32
        case 7: .int64
        case 9: .bool
        default: nil
        }
    }

    static func code(_ dtype: Tensor.DataType) -> Int32 {
        switch dtype {
        case .float32: 1
        case .int32: 6
        case .int64: 7
        case .bool: 9
        }
    }
}
