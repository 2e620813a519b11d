import EnclavaWire
import SwiftProtobuf
import Testing

@Suite struct RPCErrorTests {
    @Test func errorInfoIsPackedAsAnyAndUnpacked() throws {
        let error = RPCError(.failedPrecondition, reason: "SEQUENCE_OUT_OF_ORDER", message: "expected sequence 3, got 5",
                             metadata: ["expected": "3"])
        let status = error.status
        #expect(status.code == 9)
        #expect(status.message == "expected sequence 3, got 5")
        #expect(status.details.count == 1)
        #expect(status.details.first?.typeURL == "type.googleapis.com/enclava.v1.ErrorInfo")
        let info = try Enclava_V1_ErrorInfo(unpackingAny: try #require(status.details.first))
        #expect(info.reason == "SEQUENCE_OUT_OF_ORDER")

        // Through the wire bytes and back.
        let bytes: [UInt8] = try status.serializedBytes()
        let back = RPCError(status: try Google_Rpc_Status(serializedBytes: bytes))
        #expect(back.code == .failedPrecondition)
        #expect(back.reason == "SEQUENCE_OUT_OF_ORDER")
        #expect(back.message == "expected sequence 3, got 5")
        #expect(back.metadata == ["expected": "3"])
    }

    @Test func statusWithoutDetailsAndUnknownCodesAreKept() {
        var status = Google_Rpc_Status()
        status.code = 99
        status.message = "from some other server"
        let error = RPCError(status: status)
        #expect(error.code == .unknown)
        #expect(error.reason.isEmpty)
        #expect(error.message == "from some other server")
    }

    @Test func codesAreTheCanonicalGRPCNumbers() {
        #expect(RPCCode.allCases.count == 17)
        for code in RPCCode.allCases { #expect(RPCCode(statusCode: code.rawValue) == code) }
        #expect(RPCCode.resourceExhausted.rawValue == 8 && RPCCode.unimplemented.rawValue == 12
                && RPCCode.unavailable.rawValue == 14 && RPCCode.invalidArgument.rawValue == 3)
    }

    @Test(arguments: [("unix:/tmp/a.sock", TTRPCEndpoint.unix("/tmp/a.sock")),
                      ("127.0.0.1:7000", .tcp(host: "127.0.0.1", port: 7000)),
                      ("tcp:localhost:0", .tcp(host: "localhost", port: 0)),
                      ("[::1]:9", .tcp(host: "::1", port: 9))])
    func endpointsParse(text: String, expected: TTRPCEndpoint) throws {
        #expect(try TTRPCEndpoint(parsing: text) == expected)
    }

    @Test(arguments: ["", "unix:", "localhost", ":80", "host:99999", "host:port"])
    func badEndpointsAreRefused(text: String) {
        let error = #expect(throws: WireError.self) { try TTRPCEndpoint(parsing: text) }
        #expect(error?.code == .invalidEndpoint)
    }
}

/// Connection failures are told in words a person can act on, never NIO's type names.
@Suite struct ConnectFailureTests {
    @Test func connectionRefusedSaysNothingIsListeningAndWhatToStart() async throws {
        let error = await #expect(throws: RPCError.self) {
            _ = try await TTRPCClient.connect(to: .tcp(host: "127.0.0.1", port: 1), connectTimeout: .seconds(5))
        }
        #expect(error?.reason == "CONNECT_FAILED")
        #expect(error?.message.contains("nothing is listening there (connection refused); start it with `enclava serve") == true,
                "\(error?.message ?? "")")
        for name in ["NIOConnectionError", "SingleConnectionFailure", "IOError", "errno:"] {
            #expect(error?.message.contains(name) == false, "\(error?.message ?? "")")
        }
    }

    @Test func aMissingUnixSocketSaysSo() async throws {
        let error = await #expect(throws: RPCError.self) {
            _ = try await TTRPCClient.connect(to: .unix("/nonexistent-enclava-\(UInt32.random(in: 0...UInt32.max)).sock"))
        }
        #expect(error?.message.contains("the socket does not exist; start the enclave first") == true, "\(error?.message ?? "")")
    }
}
