"""Which process holds a room's media, and how requests reach it.

`owners` keeps the claims (leases in Redis), `listener` is each process's private loopback
listener, `forward` the client that reaches a sibling's, and `media` the router that runs a
WHIP/WHEP/DELETE here or on the owner. It imports neither `live.api` nor `live.media`:
both use it, and the media hub is handed to it as a `LocalMedia`.
"""
