"""Finding 4: the admin token must be strong, and tokens are never signed with a key
derived from it (one viewer token would let anyone test admin-token guesses offline)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import subprocess
import sys

import pytest

from live.auth import Identity, Role, TokenSigner, _b64
from live.security.admin_token import weakness
from live.settings import PROJECT_ROOT
from tests.conftest import LiveServer, free_port
from tests.serving import serve_env


@pytest.mark.parametrize(
    "token",
    [
        "short-but-random-Xk2",
        "x" * 40,
        "abababababababababababababababababab",
        "admin-password-secret-changeme-admin",
        "1234567890123456789012345678901234",
        "test-admin-token-xxxxxxxxxxxxxxxx",
    ],
)
def test_weak_admin_tokens_are_named(token: str) -> None:
    assert weakness(token) is not None


def test_random_admin_tokens_pass() -> None:
    for _ in range(200):
        assert weakness(secrets.token_urlsafe(32)) is None


@pytest.mark.slow
def test_serve_refuses_a_weak_admin_token_in_one_line() -> None:
    env = serve_env(LIVE_ADMIN_TOKEN="admin-admin-admin-admin-admin-admin")
    done = subprocess.run(
        [sys.executable, "-m", "live.cli", "serve", "--port", str(free_port())],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        timeout=30,
    )
    assert done.returncode != 0
    lines = [line for line in done.stderr.decode().splitlines() if "LIVE_ADMIN_TOKEN" in line]
    assert len(lines) == 1 and "weak" in lines[0], done.stderr.decode()


async def test_viewer_tokens_are_not_signed_with_a_key_derived_from_the_admin_token(
    live_server: LiveServer,
) -> None:
    viewer = await live_server.new_viewer()
    body, _, signature = viewer["token"].partition(".")
    admin = live_server.parts.settings.admin_token
    assert admin
    derived = hmac.new(admin.encode(), b"live token signing v1", hashlib.sha256).digest()
    guessed = _b64(hmac.new(derived, body.encode(), hashlib.sha256).digest())
    assert signature != guessed
    # The token still works: the server signed it with its random secret.
    me = await live_server.as_user(viewer["token"], "POST", "/api/rooms", json={})
    assert me.status_code == 403


def test_previous_secrets_still_verify_for_rotation() -> None:
    old = TokenSigner(b"old-secret", None)
    token = old.issue(Identity(Role.VIEWER, "u_1", "Mei"), ttl_s=60, now=0)
    rotated = TokenSigner(b"new-secret", None, [b"old-secret"])
    assert rotated.verify(token, now=1).user_id == "u_1"
    with pytest.raises(Exception, match="invalid"):
        TokenSigner(b"new-secret", None).verify(token, now=1)
