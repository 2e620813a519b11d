// EnclavaAttestationTests (placeholder)
