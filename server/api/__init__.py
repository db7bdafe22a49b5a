"""JSON endpoints under /api/v1, used by the shopper app and integrations."""
