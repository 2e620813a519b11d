// EnclavePlatformTests (placeholder)
