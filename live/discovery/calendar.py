"""A scheduled show as an iCalendar event (RFC 5545), built with `icalendar`. Pure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar

from live.rooms.model import Room

# Shows have no planned end; calendars need one, so an hour is offered.
SHOW_LENGTH = timedelta(hours=1)


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def room_event(room: Room, url: str, host: str, now_ms: int) -> bytes:
    """The `.ics` of a scheduled room: one VEVENT in UTC, its UID stable per room so a
    calendar that imports it twice updates the one event."""
    if room.starts_at is None:
        raise ValueError("the room has no start time")
    cal = icalendar.Calendar()
    cal.add("prodid", "-//live//scheduled shows//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    event = icalendar.Event()
    event.add("uid", f"{room.room_id}@{host}")
    event.add("dtstamp", _utc(now_ms))
    event.add("dtstart", _utc(room.starts_at))
    event.add("dtend", _utc(room.starts_at) + SHOW_LENGTH)
    event.add("summary", room.title)
    event.add("description", f"{room.description}\n\n{url}".strip())
    event.add("url", url)
    event.add("organizer", room.host_name)
    cal.add_component(event)
    return bytes(cal.to_ical())
