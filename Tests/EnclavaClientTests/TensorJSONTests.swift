import EnclavaClient
import EnclavaWire
import Foundation
import Testing

@Suite struct TensorJSONTests {
    @Test func aNestedArrayIsFloat32WithItsShape() throws {
        let (name, tensor) = try TensorJSON.parseInput("features=[[1, 2.5, -3], [4, 5, 6]]")
        #expect(name == "features")
        #expect(tensor.dtype == .float32)
        #expect(tensor.shape == [2, 3])
        #expect(TensorJSON.floats(of: tensor) == [1, 2.5, -3, 4, 5, 6])
    }

    @Test func anObjectGivesDtypeShapeAndData() throws {
        let tensor = try TensorJSON.tensor(fromJSON: #"{"dtype": "int64", "shape": [2, 2], "data": [1, 2, 3, 9007199254740993]}"#)
        #expect(tensor.dtype == .int64)
        #expect(tensor.shape == [2, 2])
        #expect(tensor.data.count == 32)
        #expect(TensorJSON.values(of: tensor) == ["1", "2", "3", "9007199254740993"])
        let nested = try TensorJSON.tensor(fromJSON: #"{"dtype": "float32", "data": [[0.5], [0.25]]}"#)
        #expect(nested.shape == [2, 1])
    }

    @Test func outputRoundTrips() throws {
        let tensor = TensorJSON.float32(shape: [1, 2], [0.9757544, 0.024245666])
        let json = TensorJSON.encode(tensor)
        #expect(json == #"{"dtype": "float32", "shape": [1, 2], "data": [0.9757544, 0.024245666]}"#)
        let back = try TensorJSON.tensor(fromJSON: json)
        #expect(back == tensor)
        #expect(TensorJSON.encode(["b": tensor, "a": tensor]).hasPrefix(#"{"a": "#))
    }

    @Test(arguments: [
        "x",                                   // no =
        "=[1]",                                // no name
        "x=[[1, 2], [3]]",                     // ragged
        "x=[[1, 2], 3]",                       // mixed depth
        "x=[\"a\"]",                           // not numbers
        "x={\"dtype\": \"float16\", \"data\": [1]}",
        "x={\"shape\": [3], \"data\": [1, 2]}",   // shape does not match the data
        "x={\"dtype\": \"int32\", \"data\": [1.5]}",
        "x=not json",
    ])
    func badInputIsOneClearError(argument: String) {
        do {
            _ = try TensorJSON.parseInput(argument)
            Issue.record("accepted \(argument)")
        } catch let error as ClientError {
            #expect(error.code == .invalidInput)
            #expect(!error.message.contains("\n"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    /// Values a float32 (or the named dtype) cannot hold as written are refused with their position, never
    /// turned into infinity, `null` or 1 (issue 9: `[[1e39, …]]` used to print `"data": [null, null]`).
    @Test(arguments: [
        ("features=[[1e39, 2, 3]]", "1e+39 at [0][0] is outside the float32 range"),
        ("features=[[1, 2], [3, -3.5e38]]", "at [1][1] is outside the float32 range"),
        ("features=[[1, true, 3]]", "[0][1] is true, not a number"),
        (#"x={"dtype": "int64", "data": [[1, false]]}"#, "data[0][1] is false, not a number"),
        (#"x={"dtype": "float32", "shape": [2], "data": [1, 2], "scale": 2}"#, "unknown key `scale`"),
        (#"x={"dtype": "bool", "data": [true, 2]}"#, "bool data must be true, false, 0 or 1, got 2 at data[1]"),
        (#"x={"dtype": "int32", "shape": [2, 2], "data": [1, 2, 3, 4.5]}"#, "got 4.5 at data[3]"),
        ("x=[\"NaN\"]", "must be numbers, got NaN at [0]"),
    ])
    func valuesTheDtypeCannotHoldAreRefusedWithTheirPosition(argument: String, message: String) {
        let error = #expect(throws: ClientError.self) { try TensorJSON.parseInput(argument) }
        #expect(error?.code == .invalidInput)
        #expect(error?.message.contains(message) == true, "\(error?.message ?? "no error")")
    }

    @Test func theLargestFloat32AndBooleansForBoolAreAccepted() throws {
        let edge = try TensorJSON.tensor(fromJSON: "[3.4028235e38, -3.4028235e38, 1e-50]")
        #expect(TensorJSON.floats(of: edge) == [.greatestFiniteMagnitude, -.greatestFiniteMagnitude, 0])
        let flags = try TensorJSON.tensor(fromJSON: #"{"dtype": "bool", "data": [true, false, 1, 0]}"#)
        #expect(TensorJSON.values(of: flags) == ["true", "false", "true", "false"])
    }

    /// Non-finite outputs are spelled out, not hidden as `null`, and counted for the warning.
    @Test func nonFiniteOutputsAreUnambiguous() {
        let tensor = TensorJSON.float32(shape: [4], [.nan, .infinity, -.infinity, 0.5])
        #expect(TensorJSON.encode(tensor) == #"{"dtype": "float32", "shape": [4], "data": ["NaN", "Infinity", "-Infinity", 0.5]}"#)
        #expect(TensorJSON.nonFiniteCount(of: tensor) == 3)
        #expect(TensorJSON.nonFiniteCount(of: TensorJSON.float32(shape: [1], [1])) == 0)
    }

    @Test func quotingEscapes() {
        #expect(TensorJSON.quote("a\"b\\c\n") == #""a\"b\\c\n""#)
    }
}
