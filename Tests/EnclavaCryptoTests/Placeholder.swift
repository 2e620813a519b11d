// EnclavaCryptoTests (placeholder)
