"""PURE: is an admin token strong enough to guard the whole shop?"""

from __future__ import annotations

import math
from collections import Counter

MIN_LENGTH = 32
# Below this many bits of per-character (Shannon) entropy times length, a token is a
# pattern, not a secret: 32 random base64url characters carry about 190 bits.
MIN_ENTROPY_BITS = 96.0
COMMON_WORDS = (
    "admin",
    "password",
    "passwd",
    "secret",
    "changeme",
    "letmein",
    "qwerty",
    "token",
    "default",
    "welcome",
    "12345",
    "test",
    "live",
)


def weakness(token: str) -> str | None:
    """Why `token` is too weak to be `LIVE_ADMIN_TOKEN`, or None when it will do."""
    if len(token) < MIN_LENGTH:
        return f"it is {len(token)} characters; at least {MIN_LENGTH} are required"
    if len(set(token)) <= 2:
        return "it repeats one or two characters"
    lowered = token.lower()
    common = [word for word in COMMON_WORDS if word in lowered]
    # A random token may hold a short word by chance; one built of words is a phrase.
    if common and sum(len(w) * lowered.count(w) for w in common) * 4 >= len(token):
        return f"it is built of common words such as {common[0]!r}"
    if entropy_bits(token) < MIN_ENTROPY_BITS:
        return "it is too predictable (too few distinct characters)"
    if _one_class(token) and len(set(token)) < 16:
        return "it uses one kind of character and few of them"
    return None


def entropy_bits(token: str) -> float:
    """Length times the Shannon entropy of the token's character distribution."""
    counts = Counter(token)
    total = len(token)
    per_char = -sum(n / total * math.log2(n / total) for n in counts.values())
    return per_char * total


def _one_class(token: str) -> bool:
    return token.isdigit() or token.isalpha()
