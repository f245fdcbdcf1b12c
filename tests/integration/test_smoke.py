from tests.conftest import LiveServer


async def test_healthz(live_server: LiveServer) -> None:
    answer = await live_server.http.get("/healthz")
    assert answer.status_code == 200
    room = await live_server.new_room()
    answer = await live_server.http.get(f"/api/rooms/{room['room_id']}")
    assert answer.json()["title"] == "Autumn linen"
