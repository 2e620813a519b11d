internal import COpenSSL

extension HPKE {
    /// The sending side of an HPKE base-mode context: encapsulates to the recipient's X25519 key, then
    /// seals messages in order (sequence numbers 0, 1, 2, …) and exports secrets.
    public struct Sender: Sendable {
        /// `enc`: the 32-byte ephemeral public key to send to the recipient.
        public let encapsulatedKey: [UInt8]
        private var context: Context

        /// Sets up a context to `recipientPublicKey` with a fresh ephemeral key.
        /// - Throws: ``CryptoError`` `.invalidKey` when the recipient key is malformed or of low order.
        public init(recipientPublicKey: [UInt8], info: [UInt8], aead: AEAD = .aes256GCM) throws {
            try self.init(recipientPublicKey: recipientPublicKey, info: info, ephemeralKey: X25519PrivateKey(), aead: aead)
        }

        /// Sets up a context with a caller-chosen ephemeral key. Deterministic: for test vectors only;
        /// reusing an ephemeral key across sessions breaks HPKE's security.
        /// - Throws: ``CryptoError`` `.invalidKey` when the recipient key is malformed or of low order.
        public init(recipientPublicKey: [UInt8], info: [UInt8], ephemeralKey: X25519PrivateKey, aead: AEAD = .aes256GCM) throws {
            let dh = try ephemeralKey.sharedSecret(with: recipientPublicKey)
            let enc = ephemeralKey.publicKey
            let sharedSecret = try HPKE.extractAndExpand(dh: dh, kemContext: enc + recipientPublicKey)
            encapsulatedKey = enc
            context = try HPKE.keySchedule(sharedSecret: sharedSecret, info: info, aead: aead)
        }

        /// The sequence number the next `seal` uses.
        public var sequenceNumber: UInt64 { context.sequenceNumber }

        /// Encrypts the next message; returns `ciphertext ‖ tag`.
        /// - Throws: ``CryptoError`` `.invalidInput` when the sequence number is exhausted.
        public mutating func seal(_ plaintext: [UInt8], aad: [UInt8]) throws -> [UInt8] {
            try plaintext.withUnsafeBytes { try context.seal($0, aad: aad) }
        }

        /// Encrypts the next (secret) message; returns `ciphertext ‖ tag`.
        /// - Throws: ``CryptoError`` `.invalidInput` when the sequence number is exhausted.
        public mutating func seal(_ plaintext: SecureBytes, aad: [UInt8]) throws -> [UInt8] {
            try plaintext.withUnsafeBytes { try context.seal($0, aad: aad) }
        }

        /// RFC 9180 secret export: `length` bytes bound to this context and `context`.
        /// - Throws: ``CryptoError`` `.invalidInput` for a length outside 1…8160.
        public func export(context exporterContext: [UInt8], length: Int) throws -> SecureBytes {
            try context.export(exporterContext, length: length)
        }
    }

    /// The receiving side of an HPKE base-mode context: decapsulates `enc` with the private key, then
    /// opens messages strictly in order and exports secrets.
    public struct Recipient: Sendable {
        private var context: Context

        /// Sets up a context from the sender's `enc`.
        /// - Throws: ``CryptoError`` `.invalidKey` when `encapsulatedKey` is malformed or of low order.
        public init(privateKey: X25519PrivateKey, encapsulatedKey: [UInt8], info: [UInt8], aead: AEAD = .aes256GCM) throws {
            let dh = try privateKey.sharedSecret(with: encapsulatedKey)
            let sharedSecret = try HPKE.extractAndExpand(dh: dh, kemContext: encapsulatedKey + privateKey.publicKey)
            context = try HPKE.keySchedule(sharedSecret: sharedSecret, info: info, aead: aead)
        }

        /// The sequence number the next `open` expects.
        public var sequenceNumber: UInt64 { context.sequenceNumber }

        /// Decrypts the next message. The sequence number advances only when the message authenticates,
        /// so a replayed, reordered, dropped or tampered message fails and leaves the context unchanged.
        /// - Throws: ``CryptoError`` `.authenticationFailed`.
        public mutating func open(_ ciphertext: [UInt8], aad: [UInt8]) throws -> SecureBytes {
            try context.open(ciphertext, aad: aad)
        }

        /// RFC 9180 secret export (equal to the sender's for the same context and length).
        /// - Throws: ``CryptoError`` `.invalidInput` for a length outside 1…8160.
        public func export(context exporterContext: [UInt8], length: Int) throws -> SecureBytes {
            try context.export(exporterContext, length: length)
        }
    }

    /// The keys and sequence number of an established context (RFC 9180 §5.2).
    struct Context: Sendable {
        let aead: AEAD
        let suiteID: [UInt8]
        let key: SecureBytes
        let baseNonce: SecureBytes
        let exporterSecret: SecureBytes
        private(set) var sequenceNumber: UInt64 = 0

        init(aead: AEAD, suiteID: [UInt8], key: SecureBytes, baseNonce: SecureBytes, exporterSecret: SecureBytes) {
            self.aead = aead
            self.suiteID = suiteID
            self.key = key
            self.baseNonce = baseNonce
            self.exporterSecret = exporterSecret
        }

        /// `base_nonce XOR I2OSP(seq, Nn)`.
        func nonce() -> [UInt8] {
            var nonce = baseNonce.unsafeCopyToArray()
            for index in 0..<8 {
                nonce[nonce.count - 1 - index] ^= UInt8(truncatingIfNeeded: sequenceNumber >> (8 * UInt64(index)))
            }
            return nonce
        }

        mutating func seal(_ plaintext: UnsafeRawBufferPointer, aad: [UInt8]) throws -> [UInt8] {
            guard sequenceNumber < UInt64.max else {
                throw CryptoError(.invalidInput, "the HPKE context has used all its sequence numbers; set up a new one")
            }
            let ciphertext = try AESGCM.seal(key: key, nonce: nonce(), plaintext: plaintext, aad: aad)
            sequenceNumber += 1
            return ciphertext
        }

        mutating func open(_ ciphertext: [UInt8], aad: [UInt8]) throws -> SecureBytes {
            guard sequenceNumber < UInt64.max else {
                throw CryptoError(.invalidInput, "the HPKE context has used all its sequence numbers; set up a new one")
            }
            do {
                let plaintext = try AESGCM.open(key: key, nonce: nonce(), ciphertextAndTag: ciphertext, aad: aad)
                sequenceNumber += 1
                return plaintext
            } catch let error as CryptoError where error.code == .authenticationFailed {
                throw CryptoError(.authenticationFailed,
                                  "HPKE message \(sequenceNumber) did not authenticate: it was tampered with, replayed, reordered, or sealed under another key, info or AAD")
            }
        }

        func export(_ exporterContext: [UInt8], length: Int) throws -> SecureBytes {
            guard length > 0, length <= 255 * 32 else {
                throw CryptoError(.invalidInput, "HPKE export length must be 1…8160 bytes, got \(length)")
            }
            return try HPKE.labeledExpand(suiteID: suiteID, prk: exporterSecret, label: "sec", info: exporterContext, length: length)
        }
    }
}
