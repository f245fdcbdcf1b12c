"""One error root. Each error knows its stable code and HTTP status.

LiveError
├── BadRequest            400 bad_request (and subclasses with their own codes)
│   └── UnsupportedCodec  400 unsupported_codec
├── Unauthorized          401 unauthorized
├── Forbidden             403 forbidden
├── NotFound              404 not_found
├── MethodNotAllowed      405 method_not_allowed
├── Conflict              409 <code given>  (sku_exists, sold_out, ...)
├── PayloadTooLarge       413 too_large
├── UnsupportedMediaType  415 unsupported_media_type
├── Unprocessable         422 <code given>  (idempotency_mismatch)
├── RateLimited           429 rate_limited
└── Unavailable           503 unavailable
    └── NotReplicated     503 not_replicated
"""

from __future__ import annotations

from typing import Any, ClassVar


class LiveError(Exception):
    """An error a client can act on: a stable `code`, an HTTP `status`, a message."""

    status: ClassVar[int] = 500
    default_code: ClassVar[str] = "internal"

    def __init__(self, message: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.extra = extra

    def to_body(self) -> dict[str, Any]:
        """The contract's error body: `{"error": {"code", "message", ...}}`."""
        return {"error": {"code": self.code, "message": self.message, **self.extra}}


class BadRequest(LiveError):
    status = 400
    default_code = "bad_request"


class UnsupportedCodec(BadRequest):
    default_code = "unsupported_codec"


class Unauthorized(LiveError):
    status = 401
    default_code = "unauthorized"


class Forbidden(LiveError):
    status = 403
    default_code = "forbidden"


class NotFound(LiveError):
    status = 404
    default_code = "not_found"


class MethodNotAllowed(LiveError):
    status = 405
    default_code = "method_not_allowed"


class Conflict(LiveError):
    status = 409
    default_code = "conflict"


class PayloadTooLarge(LiveError):
    status = 413
    default_code = "too_large"


class UnsupportedMediaType(LiveError):
    status = 415
    default_code = "unsupported_media_type"


class Unprocessable(LiveError):
    status = 422
    default_code = "unprocessable"


class RateLimited(LiveError):
    status = 429
    default_code = "rate_limited"


class Unavailable(LiveError):
    status = 503
    default_code = "unavailable"


class NotReplicated(Unavailable):
    """`durability = "replicated"`: fewer replicas than `min_replicas` confirmed the write
    in time. It may exist on the primary; a retry with the same Idempotency-Key answers it."""

    default_code = "not_replicated"
