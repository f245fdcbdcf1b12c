import pytest

from live.auth import (
    Identity,
    Role,
    TokenSigner,
    require_admin,
    require_manager,
)
from live.errors import Forbidden, Unauthorized

SIGNER = TokenSigner(b"signing-secret", "admin-secret")
HOST = Identity(Role.HOST, "h_1", "Lin", room_id="r_1")
VIEWER = Identity(Role.VIEWER, "u_1", "Mei")


def test_issued_token_verifies_to_the_same_identity() -> None:
    token = SIGNER.issue(HOST, ttl_s=60, now=1000)
    assert SIGNER.verify(token, now=1030) == HOST


def test_expired_token_is_refused() -> None:
    token = SIGNER.issue(VIEWER, ttl_s=60, now=1000)
    with pytest.raises(Unauthorized, match="expired"):
        SIGNER.verify(token, now=1060)


def test_a_token_verified_before_still_expires() -> None:
    """Verified tokens are remembered; the memory must not outlive the token."""
    token = SIGNER.issue(VIEWER, ttl_s=60, now=1000)
    assert SIGNER.verify(token, now=1010) == VIEWER
    assert SIGNER.verify(token, now=1020) == VIEWER
    with pytest.raises(Unauthorized, match="expired"):
        SIGNER.verify(token, now=1060)
    with pytest.raises(Unauthorized):
        SIGNER.verify(token[:-1] + ("A" if token[-1] != "A" else "B"), now=1010)


def test_tampered_or_foreign_token_is_refused() -> None:
    token = SIGNER.issue(VIEWER, ttl_s=60, now=1000)
    sig = token.partition(".")[2]
    forged_body = SIGNER.issue(HOST, ttl_s=60, now=1000).partition(".")[0]
    for bad in (f"{forged_body}.{sig}", token[:-2] + "xx", "garbage", "", "a.b.c"):
        with pytest.raises(Unauthorized):
            SIGNER.verify(bad, now=1000)
    other = TokenSigner(b"another-secret", "another-admin")
    with pytest.raises(Unauthorized):
        other.verify(token, now=1000)


def test_admin_token_is_the_configured_value_itself() -> None:
    assert SIGNER.verify("admin-secret", now=0).role is Role.ADMIN
    with pytest.raises(Unauthorized):
        SIGNER.verify("admin-secreT", now=0)


def test_a_signed_token_cannot_claim_the_admin_role() -> None:
    token = SIGNER.issue(Identity(Role.ADMIN, "x", "x"), ttl_s=60, now=0)
    with pytest.raises(Unauthorized):
        SIGNER.verify(token, now=1)


def test_host_manages_only_its_own_room() -> None:
    assert require_manager(HOST, "r_1") == HOST
    with pytest.raises(Forbidden):
        require_manager(HOST, "r_2")
    with pytest.raises(Forbidden):
        require_manager(VIEWER, "r_1")
    with pytest.raises(Unauthorized):
        require_manager(None, "r_1")
    with pytest.raises(Forbidden):
        require_admin(HOST)
