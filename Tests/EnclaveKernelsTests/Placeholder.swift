// EnclaveKernelsTests (placeholder)
