import Testing
import EnclaveInference
@Test func smoke() {}
