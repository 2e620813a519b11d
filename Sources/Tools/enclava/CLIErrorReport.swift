import ArgumentParser
import EnclavaClient
import EnclavaWire
import Foundation

/// A failure as `enclava … --json` prints it: `{"error": {"code": "IMAGE_INVALID", "message": "…"}}` — the
/// error's stable code (and for remote errors the RPC code and reason), and the same one-line message the
/// plain output gives.
struct CLIErrorReport {
    let code: String
    let reason: String?
    let message: String

    init(_ error: any Error, message: String, usage: Bool = false) {
        self.message = message.split(whereSeparator: \.isNewline).joined(separator: " ")
        switch error {
        case let client as ClientError:
            if let remote = client.rpcError {
                code = "\(remote.code)"
                reason = remote.reason.isEmpty ? nil : remote.reason
            } else if let attestation = client.attestationError {
                code = Self.stableCode(of: attestation) ?? "ATTESTATION_FAILED"
                reason = nil
            } else {
                code = Self.snake(client.code.rawValue)
                reason = client.reason
            }
        case let remote as RPCError:
            code = "\(remote.code)"
            reason = remote.reason.isEmpty ? nil : remote.reason
        case is CLIError:
            code = "INVALID_INPUT"
            reason = nil
        case is ValidationError:
            code = "USAGE"
            reason = nil
        default:
            code = usage ? "USAGE" : Self.stableCode(of: error).map(Self.snake) ?? "ERROR"
            reason = nil
        }
    }

    /// `attestationFailed` → `ATTESTATION_FAILED` (codes that are already upper snake case stay as they are).
    static func snake(_ code: String) -> String {
        guard code.contains(where: \.isLowercase) else { return code }
        var result = ""
        for character in code {
            if character.isUppercase, !result.isEmpty { result += "_" }
            result += character.uppercased()
        }
        return result
    }

    /// The `code` of Enclava's error structs (each a struct over a code enum with a string raw value).
    static func stableCode(of error: any Error) -> String? {
        guard let value = Mirror(reflecting: error).children.first(where: { $0.label == "code" })?.value else { return nil }
        if let raw = (value as? any RawRepresentable)?.rawValue as? String { return raw }
        return String(describing: value)
    }

    var json: String {
        var fields = ["\"code\": \(TensorJSON.quote(code))"]
        if let reason { fields.append("\"reason\": \(TensorJSON.quote(reason))") }
        fields.append("\"message\": \(TensorJSON.quote(message))")
        return "{\"error\": {" + fields.joined(separator: ", ") + "}}"
    }
}
