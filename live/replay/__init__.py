"""Replays: each room's recording, its chapters on the media clock and its line-up.

`rules` is pure (the record's parts and runs, the API's view); `store` keeps it all in
Redis. The recording itself (muxing, joining parts, serving files) is media's
(`live.media.recorder`, `live.media.replays`); this package imports neither media nor api.
"""
