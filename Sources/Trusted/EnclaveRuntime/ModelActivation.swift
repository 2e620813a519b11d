import EnclavaCrypto
import EnclavaImage

/// The one step every key source ends in (DESIGN.md §7): a data-encryption key → the image's assets
/// decrypted into sealed memory → the model loaded → ready. ``KeySource`` says how the key is obtained;
/// ``EnclaveCore/activate(dek:with:)`` runs this with it, whatever the source.
///
/// The runtime builds it from the verified image (``EnclaveRuntime``); tests build it around a model double.
public struct ModelActivation: Sendable {
    /// SHA-384 manifest digest of the image (known from the signed header before any key).
    public let manifestDigest: [UInt8]
    /// `[image] name`.
    public let modelName: String
    /// Checks a released key against the image's signed key commitment before anything is decrypted; throws
    /// when it is not this image's key.
    public let checkKey: @Sendable (SecureBytes) throws -> Void
    /// Decrypts and loads the model with the key. Runs off the core's actor (Health is answered meanwhile).
    public let load: @Sendable (SecureBytes) async throws -> EnclaveCore.Serving
    /// Runs once the model is ready with the key, before the key's copies are wiped: the runtime keeps a key
    /// released from outside (owner, broker) sealed to its platform for the next start (sealed restart). It
    /// cannot fail the activation; a key that needs keeping nowhere does nothing here.
    public let activated: @Sendable (SecureBytes) -> Void

    /// Creates an activation.
    /// - Parameters:
    ///   - manifestDigest: the image's manifest digest.
    ///   - modelName: `[image] name`.
    ///   - checkKey: the key-commitment check.
    ///   - load: DEK → decrypt → load.
    ///   - activated: what to do with the key once the model is ready (default: nothing).
    public init(manifestDigest: [UInt8], modelName: String, checkKey: @escaping @Sendable (SecureBytes) throws -> Void,
                load: @escaping @Sendable (SecureBytes) async throws -> EnclaveCore.Serving,
                activated: @escaping @Sendable (SecureBytes) -> Void = { _ in }) {
        self.manifestDigest = manifestDigest
        self.modelName = modelName
        self.checkKey = checkKey
        self.load = load
        self.activated = activated
    }

    /// The activation of a verified image: its owner key commitment (``EnclavaImage/EnclaveImage/checkOwnerKey(_:)``)
    /// and the given loader.
    public init(image: EnclaveImage, load: @escaping @Sendable (SecureBytes) async throws -> EnclaveCore.Serving,
                activated: @escaping @Sendable (SecureBytes) -> Void = { _ in }) {
        self.init(manifestDigest: image.manifestDigest, modelName: image.manifest.image.name,
                  checkKey: { try image.checkOwnerKey($0) }, load: load, activated: activated)
    }
}
