// EnclavaImageTests (placeholder)
