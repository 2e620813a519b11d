/// The names of the `enclava.v1.Enclave` ttrpc service (DESIGN.md §2).
public enum EnclaveService {
    /// The fully qualified service name carried in `ttrpc.Request.service`.
    public static let name = "enclava.v1.Enclave"

    /// The service's methods, by their wire names.
    public enum Method: String, Sendable, CaseIterable {
        /// Client nonce → evidence, manifest digest, HPKE public key.
        case getEvidence = "GetEvidence"
        /// HPKE `enc` → session id.
        case openSession = "OpenSession"
        /// Session id, sequence number, ciphertext → ciphertext.
        case infer = "Infer"
        /// HPKE-sealed image key from the model owner.
        case provisionKey = "ProvisionKey"
        /// Enclave state for the host; no secrets.
        case health = "Health"
        /// Graceful stop, sent by the host.
        case shutdown = "Shutdown"

        /// Whether clients may call this method (DESIGN.md §2): the host bridge relays it, and the enclave
        /// serves it on its client socket. The others (`Shutdown`) are host-control calls, accepted only on
        /// the enclave's private control socket and never relayed from a client.
        public var isClientCall: Bool { self != .shutdown }
    }
}
