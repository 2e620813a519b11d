import EnclavaImage

extension CLI {
    /// Checks a `--signer-fingerprint` value against the image before anything is launched, so a wrong pin is
    /// one line from `enclava serve` rather than a failed enclave start.
    /// - Returns: the fingerprint in the form `enclava-runtime --signer-fingerprint` takes (64 lower-case hex digits).
    /// - Throws: ``CLIError`` when the value is not a fingerprint or the image is signed by another key.
    static func signerFingerprint(_ text: String, image: EnclaveImage) throws -> String {
        var hex = text.lowercased()
        if hex.hasPrefix("sha256:") { hex.removeFirst(7) }
        guard hex.count == 64, hex.allSatisfy(\.isHexDigit) else {
            throw CLIError("--signer-fingerprint must be the 64 hex digits of the signer's SHA-256 fingerprint, as "
                + "`enclava inspect IMAGE` prints it; got `\(text)`")
        }
        guard hex == image.signerFingerprint.lowercased() else {
            throw CLIError("\(image.path) is signed by key \(image.signerFingerprint), not by the pinned signer \(hex) "
                + "(--signer-fingerprint); use the image from the expected signer")
        }
        return hex
    }
}
