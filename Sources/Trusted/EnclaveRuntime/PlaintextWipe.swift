import EnclavaCrypto
import EnclavaWire
import EnclaveInference
import Foundation

/// Wipes the plaintext copies that cannot live in secure memory (DESIGN.md §5): SwiftProtobuf parses a
/// request's tensor bytes into ordinary `Data`, which is zeroed in place as soon as the tensors have been
/// copied into ``TensorBytes``; and a result's tensors are handed to the serializer as `Data` that points
/// into their secure memory, so serializing them makes no ordinary copy at all.
///
/// Tensors of 14 bytes or less are the exception: `Data` keeps them inline in the message, so a result's
/// small outputs are copies, zeroed in place once the result is serialized (``wipeInlineTensors(of:)``).
/// What this cannot reach: input names and whatever the compiler leaves in stack frames and registers — see
/// README "Sealed memory". (Texts never reach SwiftProtobuf: ``InferPayloadReader`` reads them in place.)
enum PlaintextWipe {
    /// The most bytes `Data` keeps inline (in the value itself) on 64-bit platforms.
    static let inlineCapacity = 14

    /// Zeroes, in place, the bytes of every input tensor of a parsed payload (the zeroed tensors stay).
    static func wipeTensors(of payload: inout Enclava_V1_InferPayload) {
        for name in Array(payload.inputs.keys) {
            // Mutated through the dictionary's in-place accessor: the only reference, so no copy is made.
            payload.inputs[name]?.data.withUnsafeMutableBytes { SecureMemory.wipe($0) }
        }
    }

    /// Zeroes, in place, the result tensors small enough for `Data` to keep inline: those are copies made
    /// when the result was built. Larger ones share their output's secure memory and are left alone.
    static func wipeInlineTensors(of result: inout Enclava_V1_InferResult) {
        for name in Array(result.outputs.keys) where (result.outputs[name]?.data.count ?? 0) <= inlineCapacity {
            result.outputs[name]?.data.withUnsafeMutableBytes { SecureMemory.wipe($0) }
        }
    }

    /// Zeroes `data` in place (when it is the only reference to its storage; otherwise `Data` copies first
    /// and the other references keep their bytes, so call this on the last one).
    static func wipe(_ data: inout Data) {
        data.withUnsafeMutableBytes { SecureMemory.wipe($0) }
    }
}

extension Data {
    /// `Data` over a tensor's secure bytes without copying them: the storage stays alive (and is wiped
    /// when released) as long as this value or a copy of it exists. Small tensors (14 bytes or less)
    /// are copied inline by `Data` itself.
    init(sharing bytes: TensorBytes) {
        let secure = bytes.secureBytes
        guard secure.count > 0 else {
            self.init()
            return
        }
        // SecureBytes storage is a class that never moves while a copy of it is alive and unmodified; the
        // deallocator holds that copy.
        let base = secure.withUnsafeBytes { UnsafeMutableRawPointer(mutating: $0.baseAddress!) }
        self.init(bytesNoCopy: base, count: secure.count, deallocator: .custom { _, _ in withExtendedLifetime(secure) {} })
    }
}
