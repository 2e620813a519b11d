// HostBridgeTests (placeholder)
