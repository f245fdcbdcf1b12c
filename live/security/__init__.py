"""Security rules and guards: admin token strength, the signing secret, client addresses,
HTTP headers. Pure rules apart from `signing` (one Redis call at start-up)."""
