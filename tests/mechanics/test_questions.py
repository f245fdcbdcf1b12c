"""Questions over the room channel: staff hear them, other viewers do not until the host
answers; answers are durable events for everyone and show on the product."""

from __future__ import annotations

import contextlib

from tests.commerce.helpers import open_shop
from tests.conftest import LiveServer
from tests.realtime.client import channel


async def test_questions_reach_staff_only_until_answered(live_server: LiveServer) -> None:
    shop = await open_shop(live_server)
    added = await live_server.as_user(
        shop.host_token, "POST", f"/api/rooms/{shop.room_id}/products", json={"sku": shop.sku}
    )
    assert added.status_code == 201
    asker, other = shop.viewer("Dev"), shop.viewer("Ann")
    async with contextlib.AsyncExitStack() as stack:
        host_ws = await stack.enter_async_context(
            channel(live_server.ws_url, shop.room_id, shop.host_token)
        )
        asker_ws = await stack.enter_async_context(channel(live_server.ws_url, shop.room_id, asker))
        other_ws = await stack.enter_async_context(channel(live_server.ws_url, shop.room_id, other))
        for ws in (host_ws, asker_ws, other_ws):
            await ws.of_type("snapshot")
        await asker_ws.send({"type": "question", "text": "Can it be listed?", "sku": "nope"})
        assert (await asker_ws.of_type("error"))["code"] == "bad_message"  # not in the line-up
        await asker_ws.send(
            {"type": "question", "text": "How does it handle heat?", "sku": shop.sku}
        )
        question = await host_ws.of_type("question")
        assert (question["name"], question["sku"]) == ("Dev", shop.sku)
        assert question["text"] == "How does it handle heat?"

        queue = await live_server.as_user(
            shop.host_token, "GET", f"/api/rooms/{shop.room_id}/questions"
        )
        assert [q["question_id"] for q in queue.json()["questions"]] == [question["question_id"]]
        peek = await live_server.as_user(other, "GET", f"/api/rooms/{shop.room_id}/questions")
        assert peek.status_code == 403
        answers = await live_server.http.get(f"/api/products/{shop.sku}/answers")
        assert answers.json()["answers"] == []

        await other_ws.send({"type": "answer", "question_id": question["question_id"], "text": "x"})
        assert (await other_ws.of_type("error"))["code"] == "forbidden"
        await host_ws.send(
            {"type": "answer", "question_id": question["question_id"], "text": "Up to 60 C."}
        )
        for ws in (other_ws, asker_ws, host_ws):
            answer = await ws.of_type("answer")
            assert answer["question"] == "How does it handle heat?"
            assert (answer["answer"], answer["sku"]) == ("Up to 60 C.", shop.sku)
            assert isinstance(answer["seq"], int)
        # The other viewer never saw the question itself.
        assert not [e for e in other_ws.seen if e["type"] == "question"]

    listed = (await live_server.http.get(f"/api/products/{shop.sku}/answers")).json()["answers"]
    assert [(a["text"], a["answer"]) for a in listed] == [
        ("How does it handle heat?", "Up to 60 C.")
    ]
    queue = await live_server.as_user(
        shop.host_token, "GET", f"/api/rooms/{shop.room_id}/questions"
    )
    assert queue.json()["questions"] == []
