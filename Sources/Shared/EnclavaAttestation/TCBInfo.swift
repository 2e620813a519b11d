import Foundation

/// Intel TCB Info (version 3, SGX or TDX) as Intel PCS publishes it: the TCB levels of one FMSPC,
/// newest first. Decoded from the exact signed bytes after their signature has been checked.
struct TCBInfo: Decodable, Sendable {
    /// One SVN of a TCB component.
    struct Component: Decodable, Sendable {
        let svn: Int
    }

    /// The TCB a level requires.
    struct TCB: Decodable, Sendable {
        let sgxtcbcomponents: [Component]
        let pcesvn: Int
        let tdxtcbcomponents: [Component]?
    }

    /// One TCB level: at or above `tcb`, the platform's status is `tcbStatus`.
    struct Level: Decodable, Sendable {
        let tcb: TCB
        let tcbDate: String
        let tcbStatus: String
        let advisoryIDs: [String]?
    }

    /// An ISV SVN and its status (TDX module identities, QE identities).
    struct ISVLevel: Decodable, Sendable {
        struct TCB: Decodable, Sendable {
            let isvsvn: Int
        }
        let tcb: TCB
        let tcbDate: String
        let tcbStatus: String
        let advisoryIDs: [String]?
    }

    /// The expected TDX module signer and attributes (used when the module major version is 0).
    struct TDXModule: Decodable, Sendable {
        let mrsigner: String
        let attributes: String
        let attributesMask: String
    }

    /// A TDX module identity (`TDX_01`, `TDX_03`, …) and its own TCB levels.
    struct TDXModuleIdentity: Decodable, Sendable {
        let id: String
        let mrsigner: String
        let attributes: String
        let attributesMask: String
        let tcbLevels: [ISVLevel]
    }

    let id: String?
    let version: Int
    let issueDate: String
    let nextUpdate: String
    let fmspc: String
    let pceId: String
    let tcbType: Int?
    let tcbEvaluationDataNumber: Int
    let tdxModule: TDXModule?
    let tdxModuleIdentities: [TDXModuleIdentity]?
    let tcbLevels: [Level]
}

/// Intel QE Identity (version 2): what Intel's quoting enclave (`QE` for SGX, `TD_QE` for TDX) must look
/// like, and the status of each of its ISV SVNs.
struct QEIdentity: Decodable, Sendable {
    let id: String
    let version: Int
    let issueDate: String
    let nextUpdate: String
    let tcbEvaluationDataNumber: Int
    let miscselect: String
    let miscselectMask: String
    let attributes: String
    let attributesMask: String
    let mrsigner: String
    let isvprodid: Int
    let tcbLevels: [TCBInfo.ISVLevel]
}

/// RFC 3339 timestamps as Intel writes them (`2025-06-19T10:16:03Z`).
enum IntelTimestamp {
    static func parse(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }
}
