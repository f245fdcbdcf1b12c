import orjson

from tests.conftest import LiveServer


async def test_durable_events_get_consecutive_seq_and_are_kept(live_server: LiveServer) -> None:
    svc = live_server.parts
    room = await live_server.new_room()
    room_id = room["room_id"]
    pubsub = svc.redis.pubsub()
    await pubsub.ssubscribe(svc.keys.room_channel(room_id))  # room channels are sharded
    first = await svc.events.durable(room_id, {"type": "unpin"})
    second = await svc.events.durable(room_id, {"type": "unpin"})
    await svc.events.volatile(room_id, {"type": "likes", "count": 3})
    assert second == first + 1
    history = await svc.redis.xrange(svc.keys.room_history(room_id))
    assert [orjson.loads(fields[b"e"])["seq"] for _, fields in history] == [first, second]
    received: list[dict[str, object]] = []
    while len(received) < 3:
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
        if message:
            received.append(orjson.loads(message["data"]))
    assert [e["type"] for e in received] == ["unpin", "unpin", "likes"]
    assert all("ts" in e for e in received)
    await pubsub.aclose()
