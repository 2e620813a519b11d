// EnclavaWireTests (placeholder)
