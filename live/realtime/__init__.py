"""The live room channel: the websocket endpoint, per-process fan-out, chat, presence."""
