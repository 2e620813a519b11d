/// Why evidence or a policy was refused. Each error has a stable ``code-swift.property``, the field it is
/// about, the expected and actual values where they help, and a sentence that says what to do next.
public struct AttestationError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Stable error codes (the raw values never change; tools and RPC reasons use them).
    public enum Code: String, Sendable, CaseIterable {
        /// The evidence bytes are not well-formed (wrong size, bad certificate encoding, …).
        case malformedEvidence = "MALFORMED_EVIDENCE"
        /// This verifier cannot check evidence of that platform yet.
        case unsupportedPlatform = "UNSUPPORTED_PLATFORM"
        /// The policy does not allow the evidence's platform.
        case platformNotAllowed = "PLATFORM_NOT_ALLOWED"
        /// The evidence is simulated and the policy does not allow simulation.
        case simulationNotAllowed = "SIMULATION_NOT_ALLOWED"
        /// The certificate chain ends in a root that is neither a vendor root nor a pinned simulated root.
        case untrustedRoot = "UNTRUSTED_ROOT"
        /// The certificate chain does not verify (signature, validity period, CA flags, order).
        case certificateChainInvalid = "CERTIFICATE_CHAIN_INVALID"
        /// The report signature does not verify under the leaf certificate's key.
        case signatureInvalid = "SIGNATURE_INVALID"
        /// The report data does not bind this nonce and manifest digest.
        case reportDataMismatch = "REPORT_DATA_MISMATCH"
        /// The report data carries a different HPKE key than the one the enclave sent.
        case hpkeKeyMismatch = "HPKE_KEY_MISMATCH"
        /// The measurement is not one the policy expects.
        case measurementMismatch = "MEASUREMENT_MISMATCH"
        /// The manifest digest is not one the policy expects.
        case manifestDigestMismatch = "MANIFEST_DIGEST_MISMATCH"
        /// The guest policy allows debugging and the attestation policy does not.
        case debugNotAllowed = "DEBUG_NOT_ALLOWED"
        /// The report's TCB or chip id does not match the certificate that signed it.
        case tcbMismatch = "TCB_MISMATCH"
        /// An attestation policy file is missing, unreadable or invalid.
        case invalidPolicy = "INVALID_POLICY"
        /// An Intel quoting enclave's report does not bind the quote's attestation key.
        case qeReportDataMismatch = "QE_REPORT_DATA_MISMATCH"
        /// Intel collateral (TCB Info, QE Identity, CRLs) is malformed, out of date, or for another platform.
        case collateralInvalid = "COLLATERAL_INVALID"
        /// Intel collateral is absent or lacks a part (TCB Info, QE Identity, PCK CRL, Root CA CRL, a signature
        /// or an issuer chain): without all of it the quoting enclave's identity is unproven.
        case collateralMissing = "COLLATERAL_MISSING"
        /// A certificate of the chain is listed in its issuer's CRL.
        case certificateRevoked = "CERTIFICATE_REVOKED"
        /// The quoting enclave is not the one Intel's QE Identity describes.
        case qeIdentityMismatch = "QE_IDENTITY_MISMATCH"
        /// A security version (SNP SPL, SGX ISVSVN) is below the policy's `minimum_tcb`.
        case tcbBelowMinimum = "TCB_BELOW_MINIMUM"
        /// The Intel TCB status is not in the policy's `allowed_tcb_statuses`.
        case tcbStatusNotAllowed = "TCB_STATUS_NOT_ALLOWED"
        /// The client named a model that the policy's `models` does not pin.
        case modelNotPinned = "MODEL_NOT_PINNED"
        /// The enclave reached for a named model runs another image than the policy pins for that name.
        case modelMismatch = "MODEL_MISMATCH"
        /// An Arm CCA platform token's challenge is not the hash of the realm token's RAK: the platform does not
        /// vouch for the key that signed the realm token.
        case platformChallengeMismatch = "PLATFORM_CHALLENGE_MISMATCH"
    }

    /// The stable code.
    public let code: Code
    /// The field or item the error is about (e.g. `MEASUREMENT`, `certificates[1]`), if any.
    public let field: String?
    /// The expected value (hex for bytes), if it helps.
    public let expected: String?
    /// The actual value (hex for bytes), if it helps.
    public let actual: String?
    /// A sentence naming the problem and what to do next.
    public let message: String
    /// Where the error was raised, for us.
    public let fileID: String
    /// Where the error was raised, for us.
    public let line: Int

    init(
        _ code: Code, field: String? = nil, expected: String? = nil, actual: String? = nil, _ message: String,
        fileID: String = #fileID, line: Int = #line
    ) {
        self.code = code
        self.field = field
        self.expected = expected
        self.actual = actual
        self.message = message
        self.fileID = fileID
        self.line = line
    }

    /// `CODE: message (expected …, got …)`.
    public var description: String {
        var text = "\(code.rawValue): \(message)"
        if let expected, let actual {
            text += " (expected \(expected), got \(actual))"
        } else if let actual {
            text += " (got \(actual))"
        }
        return text
    }

    /// Errors are equal when their code, field and values are; the source location is ignored.
    public static func == (lhs: AttestationError, rhs: AttestationError) -> Bool {
        lhs.code == rhs.code && lhs.field == rhs.field && lhs.expected == rhs.expected && lhs.actual == rhs.actual
    }
}
