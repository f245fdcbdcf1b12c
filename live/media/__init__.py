"""WHIP/WHEP signalling and the relay that forwards encoded media without re-encoding."""
