import EnclavaCrypto
import EnclavaWire
import EnclaveInference
import Foundation

/// Wipes the plaintext copies that cannot live in secure memory (DESIGN.md §5): SwiftProtobuf parses a
/// request's tensor bytes into ordinary `Data`, which is zeroed in place as soon as the tensors have been
/// copied into ``TensorBytes``; and a result's tensors are handed to the serializer as `Data` that points
/// into their secure memory, so serializing them makes no ordinary copy at all.
///
/// What this cannot reach: tensors of 14 bytes or less, which `Data` keeps inline in the message value
/// (copied with the message, never on a heap buffer of their own); input names; and texts, which are
/// Swift `String`s (immutable, and copied by the tokenizer) — see README "Memory protection".
enum PlaintextWipe {
    /// Zeroes, in place, the bytes of every input tensor of a parsed payload (the zeroed tensors stay).
    static func wipeTensors(of payload: inout Enclava_V1_InferPayload) {
        for name in Array(payload.inputs.keys) {
            // Taken out of the dictionary so that this is the only reference and the wipe happens in place.
            guard var tensor = payload.inputs.removeValue(forKey: name) else { continue }
            wipe(&tensor.data)
            payload.inputs[name] = tensor
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
