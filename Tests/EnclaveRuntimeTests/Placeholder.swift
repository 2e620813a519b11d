// EnclaveRuntimeTests (placeholder)
