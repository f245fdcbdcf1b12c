import time
from dataclasses import replace
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from live.auth import Role, require_buyer
from live.errors import Forbidden, Unauthorized
from live.settings import AuthSettings
from live.shop_jwt import ShopTokenVerifier

SECRET = "shop-secret-" + "k" * 32
AUTH = AuthSettings(jwt_hs256_secret=SECRET, jwt_issuer="https://shop", jwt_audience="live")


def shop_token(key: Any = SECRET, alg: str = "HS256", **claims: Any) -> str:
    now = int(time.time())
    body = {"sub": "42", "name": "Mei", "iss": "https://shop", "aud": "live", "exp": now + 60}
    return jwt.encode({**body, **claims}, key, algorithm=alg)


def verifier(auth: AuthSettings = AUTH) -> ShopTokenVerifier:
    found = ShopTokenVerifier.from_settings(auth)
    assert found is not None
    return found


def test_no_keys_configured_means_no_shop_tokens() -> None:
    assert ShopTokenVerifier.from_settings(AuthSettings()) is None


def test_a_shop_account_becomes_a_verified_viewer() -> None:
    identity = verifier().verify(shop_token(), now=time.time())
    assert identity.role is Role.VIEWER
    assert identity.user_id == "shop:42" and identity.name == "Mei" and identity.verified


@pytest.mark.parametrize(
    "claims",
    [
        {"iss": "https://evil"},
        {"aud": "other"},
        {"exp": int(time.time()) - 60},
        {"sub": None},
    ],
)
def test_wrong_issuer_audience_or_expired_is_refused(claims: dict[str, Any]) -> None:
    token = shop_token(**{k: v for k, v in claims.items() if v is not None})
    if claims.get("sub", "") is None:
        token = jwt.encode(
            {"iss": "https://shop", "aud": "live", "exp": int(time.time()) + 60},
            SECRET,
            algorithm="HS256",
        )
    with pytest.raises(Unauthorized):
        verifier().verify(token, now=time.time())


def test_forged_and_unsigned_tokens_are_refused() -> None:
    with pytest.raises(Unauthorized):
        verifier().verify(shop_token(key="another-secret-" + "x" * 32), now=time.time())
    no_key: Any = None
    unsigned = jwt.encode({"sub": "1", "exp": int(time.time()) + 60}, no_key, algorithm="none")
    with pytest.raises(Unauthorized):
        verifier().verify(unsigned, now=time.time())


def test_rs256_public_key() -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    auth = replace(AUTH, jwt_hs256_secret="", jwt_rs256_public_key=public_pem)
    identity = verifier(auth).verify(shop_token(key=private, alg="RS256"), now=time.time())
    assert identity.user_id == "shop:42"
    # An HS256 token signed with the public key as secret (key confusion) is refused.
    with pytest.raises(Unauthorized):
        verifier(auth).verify(shop_token(), now=time.time())


def test_anonymous_sessions_may_be_kept_from_buying() -> None:
    anonymous = verifier().verify(shop_token(), now=time.time())
    anonymous = replace(anonymous, verified=False)
    assert require_buyer(anonymous, anonymous_can_buy=True) == anonymous
    with pytest.raises(Forbidden) as info:
        require_buyer(anonymous, anonymous_can_buy=False)
    assert info.value.code == "login_required"
    with pytest.raises(Unauthorized):
        require_buyer(None, anonymous_can_buy=True)
