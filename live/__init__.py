"""live: an async server for buyer-style live-stream shopping."""

__version__ = "0.1.0"
