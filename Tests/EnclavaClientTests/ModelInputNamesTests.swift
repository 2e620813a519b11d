@testable import EnclavaClient
import Testing

/// The input names a single-input call learns from the enclave's refusal of its probe
/// (EnclaveInference's InputValidator: "… the model has no such input; its inputs are 'a' float32 [N, 8], …").
struct ModelInputNamesTests {
    @Test func namesAreReadFromTheRefusal() {
        let one = "the model refused the request (INVALID_TENSOR): input 'enclava probe: no such input': the model has no "
            + "such input; its inputs are 'features' float32 [N, 8]"
        #expect(ConfidentialSession.inputNames(inRefusal: one) == ["features"])
        let three = "input 'x': the model has no such input; its inputs are 'input_ids' int64 [batch, sequence], "
            + "'attention_mask' int64 [batch, sequence], 'token_type_ids' int64 [batch, sequence]"
        #expect(ConfidentialSession.inputNames(inRefusal: three) == ["input_ids", "attention_mask", "token_type_ids"])
    }

    @Test func aRefusalWithoutTheListGivesNoNames() {
        #expect(ConfidentialSession.inputNames(inRefusal: "input 'features': dimension 1 must be 8, got 5").isEmpty)
        #expect(ConfidentialSession.inputNames(inRefusal: "its inputs are ").isEmpty)
        #expect(ConfidentialSession.inputNames(inRefusal: "its inputs are 'unterminated").isEmpty)
    }
}
