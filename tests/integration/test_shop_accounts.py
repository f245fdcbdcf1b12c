"""Shop accounts (JWTs from the shop's own login) buy; anonymous sessions may be kept to
watching and chatting; per-buyer limits count the real account."""

from __future__ import annotations

import secrets
import time

import httpx
import jwt

from tests.conftest import make_settings, start_server
from tests.redis_server import TestRedis
from tests.serving import open_sale

SHOP_SECRET = "shop-login-secret-" + "s" * 24


def shop_token(subject: str) -> str:
    claims = {
        "sub": subject,
        "name": "Mei",
        "iss": "shop",
        "aud": "live",
        "exp": int(time.time()) + 600,
    }
    return jwt.encode(claims, SHOP_SECRET, algorithm="HS256")


async def test_only_shop_accounts_buy_when_anonymous_buying_is_off(
    redis_server: TestRedis,
) -> None:
    settings = make_settings(
        LIVE_AUTH_JWT_HS256_SECRET=SHOP_SECRET,
        LIVE_AUTH_JWT_ISSUER="shop",
        LIVE_AUTH_JWT_AUDIENCE="live",
        LIVE_AUTH_ANONYMOUS_CAN_BUY="false",
    )
    server, task, port, _ = await start_server(settings, redis_server.url)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            _, sale = await open_sale(http)

            async def buy(token: str) -> httpx.Response:
                return await http.post(
                    f"/api/sales/{sale['sale_id']}/orders",
                    json={"qty": 1},
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Idempotency-Key": secrets.token_hex(8),
                    },
                )

            anonymous = (await http.post("/api/sessions", json={"name": "anon"})).json()
            refused = await buy(anonymous["token"])
            assert refused.status_code == 403
            assert refused.json()["error"]["code"] == "login_required"

            bought = await buy(shop_token("42"))
            assert bought.status_code == 201, bought.text
            assert bought.json()["user_id"] == "shop:42"
            # A fresh token of the same account is the same buyer: the limit holds.
            again = await buy(shop_token("42"))
            assert again.status_code == 409
            assert again.json()["error"]["code"] == "limit_reached"

            forged = jwt.encode(
                {"sub": "43", "exp": int(time.time()) + 60}, "wrong" * 8, algorithm="HS256"
            )
            assert (await buy(forged)).status_code == 401
    finally:
        server.should_exit = True
        await task
