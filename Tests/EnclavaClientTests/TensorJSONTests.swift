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

    @Test func quotingEscapes() {
        #expect(TensorJSON.quote("a\"b\\c\n") == #""a\"b\\c\n""#)
    }
}
