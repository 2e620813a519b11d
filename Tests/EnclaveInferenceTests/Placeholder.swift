// EnclaveInferenceTests (placeholder)
