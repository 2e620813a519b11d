// IntegrationTests (placeholder)
