import EnclavaCrypto
import EnclaveSealing
import Foundation

/// How much more memory this process may lock, so that a request whose plaintext would not fit is refused
/// with RESOURCE_EXHAUSTED before it is decrypted, rather than stopping the enclave when a ``SecureBytes``
/// allocation cannot be locked (under ``SecureMemory/LockPolicy/required`` that stops the process, by
/// design: a secret is never put in swappable memory).
///
/// Unbounded (nil) when unlocked memory is allowed, when `RLIMIT_MEMLOCK` is unlimited, or when the process
/// holds `CAP_IPC_LOCK` (which ignores the limit). Otherwise the limit minus `VmLck` of /proc/self/status.
/// This is an admission estimate, not a reservation: requests decrypted at the same moment share it, which
/// is why ``admits(requestBytes:headroom:)`` keeps a margin.
enum LockHeadroom {
    /// `CAP_IPC_LOCK`'s bit in `CapEff`.
    static let ipcLockCapabilityBit = 14
    /// Locked bytes a request may need per byte of ciphertext (the plaintext, its tensors, the outputs and
    /// the serialized result), and a fixed margin for everything else in flight.
    static let bytesPerCiphertextByte = 4
    static let margin = 1 << 20

    /// The headroom now, or nil when locking is not bounded.
    static func current() -> Int? {
        guard SecureMemory.status.policy == .required, let limit = SealedRegion.memoryLockLimit(),
              !hasLockCapability, let status = processStatus() else { return nil }
        return compute(limit: limit, status: status)
    }

    /// Whether the process held `CAP_IPC_LOCK` when first asked (read once: a capability, once dropped, is
    /// not regained without exec, and then only a crash instead of a refusal is at stake).
    static let hasLockCapability: Bool = processStatus().map { compute(limit: 0, status: $0) == nil } ?? false

    private static func processStatus() -> String? {
        guard let handle = FileHandle(forReadingAtPath: "/proc/self/status") else { return nil }
        defer { try? handle.close() }
        return (try? handle.readToEnd()).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The headroom for `limit` given the text of /proc/self/status (nil with `CAP_IPC_LOCK`).
    static func compute(limit: Int, status: String) -> Int? {
        var locked = 0
        for line in status.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true).flatMap { $0.split(separator: "\t") }
            guard fields.count >= 2 else { continue }
            if fields[0] == "CapEff:", let capabilities = UInt64(fields[1], radix: 16),
               capabilities & (1 << UInt64(ipcLockCapabilityBit)) != 0 {
                return nil
            }
            if fields[0] == "VmLck:", let kib = Int(fields[1]) { locked = kib * 1024 }
        }
        return max(0, limit - locked)
    }

    /// Whether a request of `requestBytes` ciphertext bytes fits the headroom.
    static func admits(requestBytes: Int, headroom: Int?) -> Bool {
        guard let headroom else { return true }
        return requestBytes <= (headroom - margin) / bytesPerCiphertextByte
    }
}
