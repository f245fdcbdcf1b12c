"""Security rules and guards: admin token strength, the signing secret,
HTTP headers, revocable host tokens. Pure rules apart from `signing` (one Redis call at
start-up) and `host_tokens` (a cached read per room)."""
