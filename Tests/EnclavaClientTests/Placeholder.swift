// EnclavaClientTests (placeholder)
