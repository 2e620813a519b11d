import CEnclavaClient
import EnclavaAttestation
import EnclavaClient
import EnclavaWire
import Foundation

/// An error of the C ABI: an `enclava_status` code, a stable reason where there is one and a sentence.
/// Every Swift error a call can meet maps to exactly one code here (``init(_:)``).
struct CABIError: Error {
    /// The stable codes of `enclava_client.h` (`enclava_status`).
    enum Code: Int32 {
        case invalidArgument = 1
        case attestation = 2
        case policy = 3
        case model = 4
        case transport = 5
        case sessionClosed = 6
        case unknownModel = 7
        case `internal` = 8
    }

    let code: Code
    let reason: String?
    let message: String

    init(_ code: Code, reason: String? = nil, _ message: String) {
        self.code = code
        self.reason = reason
        self.message = message
    }

    /// The code of a Swift client error.
    init(_ error: any Error) {
        switch error {
        case let error as CABIError:
            self = error
        case let error as ClientError:
            self.init(Self.code(of: error), reason: error.reason ?? error.code.rawValue, error.message)
        case let error as AttestationError:
            self.init(error.code == .invalidPolicy ? .policy : .attestation, reason: error.code.rawValue, error.message)
        case let error as SimulatedPlatformError:
            self.init(.attestation, reason: error.code.rawValue, error.message)
        case let error as WireError:
            self.init(.invalidArgument, reason: "INVALID_ENDPOINT", "\(error)")
        case let error as RPCError:
            self.init(.transport, reason: error.reason, error.description)
        default:
            // What else reaches here comes from the network stack (a refused or reset connection).
            self.init(.transport, reason: nil, "the connection to the bridge failed: \(error)")
        }
    }

    static func code(of error: ClientError) -> Code {
        switch error.code {
        case .attestationFailed: error.attestationError?.code == .invalidPolicy ? .policy : .attestation
        case .invalidEvidenceResponse: .attestation
        case .modelRejected: .model
        case .unknownModel: .unknownModel
        case .invalidInput: .invalidArgument
        case .invalidPolicy: .policy
        case .sessionUnusable: .sessionClosed
        case .remote, .responseDecryptionFailed, .responseSequenceMismatch: .transport
        }
    }

    /// Writes this error to a caller's `enclava_error **` (when it is not NULL) and returns the status.
    func report(to out: UnsafeMutablePointer<UnsafeMutablePointer<enclava_error>?>?) -> Int32 {
        if let out {
            let error = UnsafeMutablePointer<enclava_error>.allocate(capacity: 1)
            error.initialize(to: enclava_error(code: code.rawValue, reason: reason.map { strdup($0) }, message: strdup(message)))
            out.pointee = error
        }
        return code.rawValue
    }
}

/// Runs a C entry point's body: `ENCLAVA_OK` with `*error` cleared, or the error's status with `*error` set.
func reportingErrors(_ errorOut: UnsafeMutablePointer<UnsafeMutablePointer<enclava_error>?>?,
                     _ body: () throws -> Void) -> Int32 {
    errorOut?.pointee = nil
    do {
        try body()
        return 0
    } catch {
        return CABIError(error).report(to: errorOut)
    }
}
