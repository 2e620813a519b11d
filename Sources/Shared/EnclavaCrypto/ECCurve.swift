internal import COpenSSL

/// The NIST curves Enclava signs with.
public enum ECCurve: Sendable, Equatable, Hashable, CustomStringConvertible {
    case p256, p384

    /// Size of a field element, coordinate, `r` or `s` in bytes (32 or 48).
    public var coordinateByteCount: Int { self == .p256 ? 32 : 48 }

    /// The digest that matches the curve's strength (SHA-256 or SHA-384).
    public var defaultDigest: DigestAlgorithm { self == .p256 ? .sha256 : .sha384 }

    public var description: String { self == .p256 ? "P-256" : "P-384" }

    var nid: Int32 { self == .p256 ? NID_X9_62_prime256v1 : NID_secp384r1 }

    /// OpenSSL's group name.
    var groupName: String { self == .p256 ? "prime256v1" : "secp384r1" }

    init?(groupName: String) {
        switch groupName {
        case "prime256v1", "P-256": self = .p256
        case "secp384r1", "P-384": self = .p384
        default: return nil
        }
    }
}
