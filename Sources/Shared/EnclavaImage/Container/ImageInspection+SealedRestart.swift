extension ImageInspection {
    /// Whether an image can start again from sealed state, per backend (``SealedRestartSupport``).
    public struct SealedRestart: Codable, Sendable, Equatable {
        /// One backend's answer.
        public struct Backend: Codable, Sendable, Equatable {
            /// `sim`, `sev-snp`, `sgx` or `tdx`.
            public var backend: String
            /// True when a start after a release can open the sealed state on this backend.
            public var available: Bool
            /// The key source, or why not.
            public var note: String
        }

        /// False when the key is sealed in the image itself (`release = "sealed"`): no release, nothing to reseal.
        public var applies: Bool
        /// The manifest's effective `seal_to`.
        public var sealTo: String
        /// One answer per backend (empty when ``applies`` is false).
        public var backends: [Backend]

        enum CodingKeys: String, CodingKey {
            case applies, backends
            case sealTo = "seal_to"
        }

        /// The answers for a manifest's `[keys]`.
        public init(keys: Manifest.Keys) {
            applies = keys.release != .sealed
            sealTo = keys.effectiveSealTo.rawValue
            backends = !applies ? [] : SealedRestartSupport.backends.compactMap { name in
                SealedRestartSupport.answer(backend: name, sealTo: keys.effectiveSealTo).map {
                    Backend(backend: name, available: $0.isAvailable, note: $0.note)
                }
            }
        }

        /// The `sealed restart` lines of `enclava inspect`.
        var lines: [String] {
            guard applies else {
                return ["sealed restart   not needed: the key is sealed in the image (release = \"sealed\")"]
            }
            var lines = ["sealed restart   seal_to = \"\(sealTo)\": after a release the enclave reseals the key for its next start (enclava serve --state-dir)"]
            for answer in backends {
                let label = ("  " + answer.backend).padding(toLength: 17, withPad: " ", startingAt: 0)
                lines.append(label + (answer.available ? "yes: " : "no: ") + answer.note)
            }
            return lines
        }
    }
}
