"""HTTP handlers, thin: parse, call the domain, answer. Each module lists its `ENDPOINTS`."""
