"""Every use of pylibsrtp's private attributes, in one place (built for pylibsrtp==1.0.0).

- `fast_protect`: `Session.protect` without the wrapper's per-call allocations: the same
  C call (`srtp_protect`) on the session's own buffer.
`check()` runs at start-up: a missing attribute stops the server with one line.
"""

from __future__ import annotations

from collections.abc import Callable

import pylibsrtp
from pylibsrtp import _binding

from live.private_attrs import require

LIBRARY = "pylibsrtp"
BUILT_FOR = "1.0.0"
SESSION_ATTRIBUTES = ("_srtp", "_cdata", "_buffer")


def fast_protect(session: pylibsrtp.Session) -> Callable[[bytes], bytes]:
    """`session.protect` without the wrapper's per-call allocations (the same C call)."""
    srtp, cdata, buffer = session._srtp[0], session._cdata, session._buffer
    ffi, lib = _binding.ffi, _binding.lib
    size = ffi.new("int *")
    limit = len(cdata) - pylibsrtp.SRTP_MAX_TRAILER_LEN

    def protect(data: bytes) -> bytes:
        n = len(data)
        if n > limit:
            return session.protect(data)  # raises "packet is too long"
        buffer[0:n] = data
        size[0] = n
        if lib.srtp_protect(srtp, cdata, size):
            return session.protect(data)  # raises the matching SrtpError
        out: bytes = buffer[0 : size[0]]
        return out

    return protect


def check() -> None:
    """Every attribute `fast_protect` reads, on a real session and the real binding."""
    require(LIBRARY, BUILT_FOR, pylibsrtp, "pylibsrtp", ("SRTP_MAX_TRAILER_LEN",))
    require(LIBRARY, BUILT_FOR, _binding, "pylibsrtp._binding", ("ffi", "lib"))
    require(LIBRARY, BUILT_FOR, _binding.lib, "pylibsrtp._binding.lib", ("srtp_protect",))
    policy = pylibsrtp.Policy(key=bytes(30), ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND)
    session = pylibsrtp.Session(policy)
    require(LIBRARY, BUILT_FOR, session, "pylibsrtp.Session", SESSION_ATTRIBUTES)
