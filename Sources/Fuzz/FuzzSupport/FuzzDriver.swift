import Foundation

/// The libFuzzer plumbing every fuzz target shares (targets exist only for `make fuzz`, ENCLAVA_FUZZ=1).
public enum FuzzDriver {
    /// libFuzzer's `LLVMFuzzerTestOneInput` signature.
    public typealias TestOneInput = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

    /// The fuzzed input as bytes.
    public static func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
        data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    }

    /// The folder named by `ENCLAVA_FUZZ_WRITE_SEEDS`: when set, a target that makes its own seed inputs (real
    /// frames, messages or images from the project's encoders) writes them there and exits instead of fuzzing.
    public static var seedFolder: String? {
        guard let value = getenv("ENCLAVA_FUZZ_WRITE_SEEDS") else { return nil }
        let folder = String(cString: value)
        return folder.isEmpty ? nil : folder
    }

    /// Hands control to libFuzzer's driver exactly as libFuzzer's own `main` would (same arguments: corpus
    /// folders, `-max_total_time`, …). SwiftPM links a debug executable with `main` renamed to
    /// `<Target>_main`, so each target exports that symbol and calls this.
    public static func run(
        _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ testOneInput: TestOneInput
    ) -> CInt {
        var count = argc
        var arguments = argv
        return LLVMFuzzerRunDriver(&count, &arguments, testOneInput)
    }
}

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt
