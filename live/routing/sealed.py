"""PURE: what the nodes of a deployment send each other, sealed with their shared secret.

Two kinds of messages cross between machines: the relay link's datagrams (video, and the
subscriptions that ask for it; live.routing.link) and signalling requests (a WHIP or a
DELETE proxied to the room's origin node; live.routing.peers). Both are sealed with
AES-GCM (`cryptography`, already a dependency through aiortc and pyjwt), so whoever
lacks `[node] secret` can neither read them nor make one that is accepted; a viewer's or
host's token opens nothing here.

- `LinkSealer`: each process seals its datagrams under its own key, derived from the
  secret and a random 8-byte salt chosen when it starts, with a counter as the nonce (so
  no nonce ever repeats under one key, however many datagrams a long show sends). The
  salt and counter travel in front, in the clear and authenticated; a receiver derives
  the sender's key from the salt (kept for the last `MAX_SENDERS` senders) and takes each of a
  sender's counters once (a replay window), so a datagram replayed on the wire is dropped.
- `RequestSealer`: a signalling request or answer is a random nonce and its sealed body,
  bound to its purpose (and an answer to its request's nonce); requests carry their time
  so a stale one is refused (`FRESH_MS`), and the receiver refuses a nonce it has seen.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from collections import OrderedDict

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 16
SALT_BYTES = 8
NONCE_BYTES = 12
TAG_BYTES = 16
MAX_SENDERS = 1024
REPLAY_WINDOW = 64
# How far a request's clock may be from the receiver's (nodes keep time with NTP).
FRESH_MS = 30_000

_COUNTER = struct.Struct("!Q")


class SealError(ValueError):
    """Not sealed with our secret, altered, replayed or stale."""


def derive_key(secret: bytes | str, purpose: bytes) -> bytes:
    """A 16-byte key for one purpose: the secret itself is never used or sent as a key."""
    raw = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(raw, b"live nodes v1 " + purpose, hashlib.sha256).digest()[:KEY_BYTES]


def node_secret(configured: str, node_shared: str) -> bytes:
    """`[node] secret`, or one derived from the secret the processes of this one node share
    (its workers' internal secret): enough for a single node; several nodes must set
    `[node] secret`, the same on each, or they refuse each other."""
    if configured:
        return configured.encode()
    return hmac.new(node_shared.encode(), b"live node secret v1", hashlib.sha256).digest()


class _Sender:
    """One sender's key and replay window (as SRTP's: the highest counter accepted, and
    which of the `REPLAY_WINDOW` below it were seen, so a datagram reordered a little on
    the way is still taken, and none twice)."""

    __slots__ = ("aead", "last", "seen")

    def __init__(self, aead: AESGCM) -> None:
        self.aead = aead
        self.last = 0
        self.seen = 0  # bit i: counter `last - i` was accepted

    def fresh(self, counter: int) -> bool:
        if counter > self.last:
            return True
        behind = self.last - counter
        return behind < REPLAY_WINDOW and not (self.seen >> behind) & 1

    def accept(self, counter: int) -> None:
        if counter > self.last:
            shift = counter - self.last
            self.seen = ((self.seen << shift) | 1) & ((1 << REPLAY_WINDOW) - 1)
            self.last = counter
        else:
            self.seen |= 1 << (self.last - counter)


class LinkSealer:
    """Seals this process's relay link datagrams and opens other processes' ones."""

    HEADER = SALT_BYTES + _COUNTER.size
    OVERHEAD = HEADER + TAG_BYTES

    def __init__(self, secret: bytes | str, salt: bytes | None = None) -> None:
        self._master = derive_key(secret, b"relay link")
        self.salt = salt if salt is not None else os.urandom(SALT_BYTES)
        self._aead = AESGCM(self._sender_key(self.salt))
        self._counter = 0
        self._senders: OrderedDict[bytes, _Sender] = OrderedDict()

    def _sender_key(self, salt: bytes) -> bytes:
        return hmac.new(self._master, salt, hashlib.sha256).digest()[:KEY_BYTES]

    def seal(self, plain: bytes) -> bytes:
        self._counter += 1
        head = self.salt + _COUNTER.pack(self._counter)
        return head + self._aead.encrypt(b"\0" * 4 + head[SALT_BYTES:], plain, head)

    def open(self, data: bytes) -> bytes:
        """The plaintext of a datagram; `SealError` when it is not ours, altered or a
        replay (a counter its sender's window has seen, or one too far behind)."""
        if len(data) < self.OVERHEAD:
            raise SealError("short datagram")
        head = data[: self.HEADER]
        salt = head[:SALT_BYTES]
        (counter,) = _COUNTER.unpack_from(head, SALT_BYTES)
        sender = self._senders.get(salt)
        if sender is None:
            sender = _Sender(AESGCM(self._sender_key(salt)))
        elif not sender.fresh(counter):
            raise SealError("a replayed datagram")
        try:
            plain = sender.aead.decrypt(b"\0" * 4 + head[SALT_BYTES:], data[self.HEADER :], head)
        except InvalidTag as exc:
            raise SealError("not sealed with this deployment's secret") from exc
        sender.accept(counter)
        self._senders[salt] = sender
        self._senders.move_to_end(salt)
        while len(self._senders) > MAX_SENDERS:
            self._senders.popitem(last=False)
        return plain


class RequestSealer:
    """Seals signalling requests between nodes and their answers."""

    def __init__(self, secret: bytes | str) -> None:
        self._aead = AESGCM(derive_key(secret, b"node requests"))

    def seal(self, purpose: bytes, plain: bytes) -> tuple[bytes, bytes]:
        """(nonce, sealed message) for `purpose` (e.g. b"request", b"answer:" + nonce)."""
        nonce = os.urandom(NONCE_BYTES)
        return nonce, nonce + self._aead.encrypt(nonce, plain, purpose)

    def open(self, purpose: bytes, data: bytes) -> tuple[bytes, bytes]:
        """(nonce, plaintext); `SealError` when it was not sealed for `purpose` by us."""
        if len(data) < NONCE_BYTES + TAG_BYTES:
            raise SealError("short message")
        nonce = data[:NONCE_BYTES]
        try:
            return nonce, self._aead.decrypt(nonce, data[NONCE_BYTES:], purpose)
        except InvalidTag as exc:
            raise SealError("not sealed with this deployment's secret") from exc


def is_fresh(sent_ms: int, now_ms: int) -> bool:
    return abs(now_ms - sent_ms) <= FRESH_MS
