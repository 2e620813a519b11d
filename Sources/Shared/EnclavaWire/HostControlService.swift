/// The names of the `enclava.v1.HostControl` ttrpc service: the calls only the launching host makes, on the
/// enclave's private control socket (never on the client socket, never relayed by the bridge). Today: the sealed-state
/// exchange of sealed restart (DESIGN.md §7).
public enum HostControlService {
    /// The fully qualified service name carried in `ttrpc.Request.service`.
    public static let name = "enclava.v1.HostControl"

    /// The service's methods, by their wire names.
    public enum Method: String, Sendable, CaseIterable {
        /// The host's kept sealed-state blob, offered at start.
        case offerSealedState = "OfferSealedState"
        /// The enclave's newest sealed-state blob, for the host to keep (a long poll).
        case takeSealedState = "TakeSealedState"
    }
}
