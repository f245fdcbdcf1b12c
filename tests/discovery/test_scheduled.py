"""Scheduled shows: created with a start time, listed by status, offered as .ics."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import icalendar

from tests.conftest import LiveServer

HOUR_MS = 3_600_000


async def _schedule(server: LiveServer, title: str, starts_at: int) -> dict[str, object]:
    answer = await server.admin(
        "POST",
        "/api/rooms",
        json={
            "title": title,
            "host_name": "Lin",
            "description": "NAS 降噪机柜, live unboxing",
            "starts_at": starts_at,
        },
    )
    assert answer.status_code == 201, answer.text
    room: dict[str, object] = answer.json()
    return room


async def test_scheduled_room_is_listed_and_opens_when_live(live_server: LiveServer) -> None:
    starts = int(time.time() * 1000) + 2 * HOUR_MS
    room = await _schedule(live_server, "Quiet NAS cabinets", starts)
    assert room["status"] == "scheduled"
    assert room["starts_at"] == starts
    room_id = str(room["room_id"])
    listed = (await live_server.http.get("/api/rooms?status=scheduled&limit=100")).json()
    assert room_id in [r["room_id"] for r in listed["rooms"]]
    opened = (await live_server.http.get("/api/rooms?status=open&limit=100")).json()
    assert room_id not in [r["room_id"] for r in opened["rooms"]]

    # The host goes live early: the show opens and leaves the scheduled list.
    _, changed = await live_server.parts.rooms.set_live(room_id, True, int(time.time() * 1000))
    assert changed
    got = (await live_server.http.get(f"/api/rooms/{room_id}")).json()
    assert got["status"] == "open" and got["live"] is True
    live = (await live_server.http.get("/api/rooms?live=true&limit=100")).json()
    assert room_id in [r["room_id"] for r in live["rooms"]]
    listed = (await live_server.http.get("/api/rooms?status=scheduled&limit=100")).json()
    assert room_id not in [r["room_id"] for r in listed["rooms"]]

    await live_server.admin("POST", f"/api/rooms/{room_id}/end")
    ended = (await live_server.http.get("/api/rooms?status=ended&limit=100")).json()
    assert room_id in [r["room_id"] for r in ended["rooms"]]


async def test_calendar_file_parses_back(live_server: LiveServer) -> None:
    starts = (int(time.time()) + 86_400) * 1000
    room = await _schedule(live_server, "降噪机柜 first look", starts)
    answer = await live_server.http.get(f"/api/rooms/{room['room_id']}/calendar.ics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/calendar")
    cal = icalendar.Calendar.from_ical(answer.content)
    (event,) = cal.walk("VEVENT")
    assert str(event["summary"]) == "降噪机柜 first look"
    assert event.decoded("dtstart") == datetime.fromtimestamp(starts / 1000, tz=UTC)
    assert event.decoded("dtend") > event.decoded("dtstart")
    assert str(event["uid"]).startswith(str(room["room_id"]))
    assert "dtstamp" in event
    assert str(event["url"]).endswith(f"/r/{room['room_id']}")
    assert "降噪机柜" in str(event["description"])


async def test_bad_start_times_and_unscheduled_calendar(live_server: LiveServer) -> None:
    past = int(time.time() * 1000) - 1000
    for bad in (past, "soon", int(time.time())):  # seconds, not ms, is in the past
        answer = await live_server.admin(
            "POST", "/api/rooms", json={"title": "t", "host_name": "h", "starts_at": bad}
        )
        assert answer.status_code == 400
        assert answer.json()["error"]["field"] == "starts_at"
    plain = await live_server.new_room()
    answer = await live_server.http.get(f"/api/rooms/{plain['room_id']}/calendar.ics")
    assert answer.status_code == 404
    answer = await live_server.http.get("/api/rooms?status=bogus")
    assert answer.status_code == 400
