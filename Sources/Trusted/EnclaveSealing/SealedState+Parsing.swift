extension SealedState {
    /// Parses a blob from the host (hostile: every length is checked before it is used).
    /// - Throws: ``SealedStateError``: `.tooLarge`, `.badMagic`, `.truncated`, `.unsupportedVersion`, `.malformed`
    ///   (naming the field), `.trailingBytes`.
    public init(parsing bytes: [UInt8]) throws {
        guard bytes.count <= Self.maxByteCount else {
            throw SealedStateError(.tooLarge, "the sealed state has \(bytes.count) bytes; a sealed state has at most "
                + "\(Self.maxByteCount), so this is not one")
        }
        let magicPart = Array(bytes.prefix(Self.magic.count))
        guard magicPart == Array(Self.magic.prefix(magicPart.count)), !bytes.isEmpty else {
            throw SealedStateError(.badMagic, "the file is not an Enclava sealed state (it does not start with ENCLSEAL)")
        }
        var reader = Reader(bytes: bytes)
        _ = try reader.take(Self.magic.count, "magic")
        let version = BigEndian.value(try reader.take(2, "version"), as: UInt16.self)
        guard version == Self.version else {
            throw SealedStateError(.unsupportedVersion, "the sealed state has format version \(version); this runtime "
                + "reads version \(Self.version)")
        }
        let policyByte = try reader.take(1, "policy").first!
        guard let policy = SealingPolicy(rawValue: policyByte) else {
            throw SealedStateError(.malformed, "the sealed state names key policy \(policyByte), which is neither "
                + "1 (measurement) nor 2 (signer)")
        }
        let backendBytes = try reader.field("backend", 1...SealedStateKey.maxBackendBytes)
        let backend = String(decoding: backendBytes, as: UTF8.self)
        guard SealedStateKey.isBackendName(backend) else {
            throw SealedStateError(.malformed, "the sealed state's backend name is not a-z, 0-9 and -")
        }
        let binding = try reader.field("binding", 1...SealedStateKey.maxFieldBytes)
        let tcb = try reader.field("tcb", 0...SealedStateKey.maxFieldBytes)
        let digest = Array(try reader.take(Self.manifestDigestByteCount, "manifest digest"))
        let nonce = Array(try reader.take(12, "nonce"))
        let length = BigEndian.value(try reader.take(4, "ciphertext length"), as: UInt32.self)
        guard length == Self.ciphertextByteCount else {
            throw SealedStateError(.malformed, "the sealed state says its ciphertext has \(length) bytes; a sealed "
                + "DEK has \(Self.ciphertextByteCount)")
        }
        let ciphertext = Array(try reader.take(Self.ciphertextByteCount, "ciphertext"))
        guard reader.remaining == 0 else {
            throw SealedStateError(.trailingBytes, "\(reader.remaining) bytes follow the sealed state's ciphertext; "
                + "the blob was extended")
        }
        self.init(policy: policy, backend: backend, binding: binding, tcb: tcb, manifestDigest: digest, nonce: nonce,
                  ciphertext: ciphertext)
    }

    /// A bounds-checked cursor.
    private struct Reader {
        let bytes: [UInt8]
        var offset = 0

        var remaining: Int { bytes.count - offset }

        mutating func take(_ count: Int, _ field: String) throws -> ArraySlice<UInt8> {
            guard count <= remaining else {
                throw SealedStateError(.truncated, "the sealed state ends inside its \(field) (\(bytes.count) bytes); "
                    + "the blob was cut short")
            }
            defer { offset += count }
            return bytes[offset..<(offset + count)]
        }

        /// A field with a one-byte length in `allowed`.
        mutating func field(_ name: String, _ allowed: ClosedRange<Int>) throws -> [UInt8] {
            let length = Int(try take(1, "\(name) length").first!)
            guard allowed.contains(length) else {
                throw SealedStateError(.malformed, "the sealed state's \(name) has \(length) bytes, outside "
                    + "\(allowed.lowerBound)…\(allowed.upperBound)")
            }
            return Array(try take(length, name))
        }
    }
}
