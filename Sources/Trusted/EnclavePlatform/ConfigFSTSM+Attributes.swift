#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Reading and writing the attributes of one report entry, with each `errno` the kernel documents
/// turned into a ``PlatformError`` that says what it means and what to check.
extension ConfigFSTSM {
    func readProvider(_ entry: String) throws -> String {
        let path = entry + "/provider"
        let bytes: [UInt8]
        do throws(SystemCallError) {
            bytes = try files.read(atPath: path, maxBytes: 64)
        } catch where error.code == ENXIO || error.code == ENOENT {
            throw PlatformError(.unavailable, "configfs-tsm has no provider (\(error)): no attestation driver is "
                + "registered; load it (`modprobe sev-guest` on SEV-SNP, `modprobe tdx-guest` on TDX) and check `dmesg`")
        } catch {
            throw Self.mapped(error, attribute: "provider")
        }
        let text = Self.trimmedText(bytes)
        guard bytes.count <= 64, !text.isEmpty else {
            throw PlatformError(.unavailable, "\(path) is empty or too long; the kernel's TSM provider is not usable")
        }
        return text
    }

    func readGeneration(_ entry: String) throws -> UInt64 {
        let path = entry + "/generation"
        let bytes: [UInt8]
        do throws(SystemCallError) {
            bytes = try files.read(atPath: path, maxBytes: 32)
        } catch {
            throw Self.mapped(error, attribute: "generation")
        }
        let text = Self.trimmedText(bytes)
        guard bytes.count <= 32, !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let value = UInt64(text) else {
            throw PlatformError(.invalidEvidence, "\(path) holds `\(text.prefix(32))`, not a decimal counter; "
                + "the kernel's configfs-tsm interface is not the documented one")
        }
        return value
    }

    func writeAttribute(_ entry: String, _ attribute: String, _ bytes: [UInt8]) throws {
        do throws(SystemCallError) {
            try files.write(bytes, atPath: entry + "/" + attribute)
        } catch where attribute == "inblob" && (error.code == EINVAL || error.code == EFBIG) {
            throw PlatformError(.invalidReportData, "the kernel refused \(bytes.count) bytes of inblob (\(error)); "
                + "it takes at most \(Self.inblobByteCount) bytes")
        } catch {
            throw Self.mapped(error, attribute: attribute)
        }
    }

    func writePrivilegeLevel(_ entry: String, _ level: UInt32) throws {
        do throws(SystemCallError) {
            try files.write(Array("\(level)\n".utf8), atPath: entry + "/privlevel")
        } catch where error.code == EINVAL {
            let floor = (try? files.read(atPath: entry + "/privlevel_floor", maxBytes: 16)).map(Self.trimmedText) ?? "unknown"
            throw PlatformError(.evidenceFailed, "the kernel refused privlevel \(level) (\(error)); it must be between "
                + "privlevel_floor (\(floor)) and 3: request the VMPL this guest runs at")
        } catch where error.code == ENOENT {
            throw PlatformError(.unavailable, "\(entry)/privlevel does not exist: this kernel or provider has no "
                + "privilege levels; do not request one")
        } catch {
            throw Self.mapped(error, attribute: "privlevel")
        }
    }

    func readBlob(_ entry: String, _ attribute: String, maxBytes: Int) throws -> [UInt8] {
        let bytes: [UInt8]
        do throws(SystemCallError) {
            bytes = try files.read(atPath: entry + "/" + attribute, maxBytes: maxBytes)
        } catch {
            throw Self.mapped(error, attribute: attribute)
        }
        guard bytes.count <= maxBytes else {
            throw PlatformError(.invalidEvidence, "\(entry)/\(attribute) is larger than \(maxBytes) bytes; refusing it")
        }
        return bytes
    }

    /// The kernel's documented errors for any attribute.
    static func mapped(_ error: SystemCallError, attribute: String) -> PlatformError {
        switch error.code {
        case ENXIO:
            PlatformError(.unavailable, "\(error): the TSM provider is gone or its firmware refused the request "
                + "(SEV-SNP: a non-zero firmware status); check `dmesg` for the sev-guest or tdx-guest driver")
        case EBUSY:
            PlatformError(.busy, "\(error): the kernel refuses more writes to this report entry until its outblob "
                + "is read, or the TEE is busy; retry later")
        case EINVAL:
            PlatformError(.evidenceFailed, "\(error): the provider refused the request (SEV-SNP needs exactly "
                + "\(inblobByteCount) bytes of inblob and a VMPL it may use; the firmware may have refused the key or "
                + "parameters); check `dmesg`")
        case EFBIG:
            PlatformError(.invalidEvidence, "\(error): the \(attribute) is larger than the kernel's "
                + "TSM_REPORT_OUTBLOB_MAX; this kernel cannot return it")
        case EACCES, EPERM:
            PlatformError(.unavailable, "\(error): permission denied; run the enclave runtime as root")
        case ENOENT:
            PlatformError(.unavailable, "\(error): this kernel's configfs-tsm has no `\(attribute)` attribute; "
                + "it needs Linux ≥ 6.7")
        case EIO, ETIMEDOUT, EAGAIN:
            PlatformError(.evidenceFailed, "\(error): the TEE did not produce the \(attribute) (TDX: the host's quote "
                + "generation service did not answer; SEV-SNP: the host or firmware failed); check the host and `dmesg`")
        default:
            PlatformError(.evidenceFailed, "\(error): configfs-tsm failed on `\(attribute)`")
        }
    }

    /// UTF-8 text without trailing whitespace and NULs (sysfs-style values end in a newline).
    static func trimmedText(_ bytes: [UInt8]) -> String {
        var end = bytes.count
        while end > 0, [0x00, 0x0A, 0x0D, 0x20, 0x09].contains(bytes[end - 1]) { end -= 1 }
        return String(decoding: bytes[..<end], as: UTF8.self)
    }
}
