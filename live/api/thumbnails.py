"""`GET /api/rooms/{room_id}/thumbnail.jpg`: a live room's recent picture, or a still of
its replay once it has ended (or its last live picture when it has no replay).

The live picture is made at the room's origin (live/media/thumbnails.py), the replay's
still by the replay finisher (live/media/replays.py); both are read from Redis here, by
whichever worker the request reached. A replay outlives its room: its still is served
after the room's own record has lapsed. It is cached by browsers and proxies for
`[media] thumbnail_s` while the room is live (no sooner can it change), longer once the
room is over; `If-None-Match` with the picture's ETag answers 304 with no body.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from live.api.http import Endpoint
from live.api.rooms import room_id_of
from live.errors import NotFound
from live.rooms.model import Room
from live.rooms.store import RoomStore
from live.rooms.thumbnails import Thumbnail, ThumbnailStore
from live.settings import MediaSettings

# A frame of an ended room's replay (from the replay's recording), or None. Without one,
# an ended room shows the last picture taken while it was live.
ReplayStill = Callable[[str], Awaitable[Thumbnail | None]]
ENDED_MAX_AGE_S = 3600


class ThumbnailApi:
    def __init__(
        self,
        rooms: RoomStore,
        thumbnails: ThumbnailStore,
        settings: MediaSettings,
        replay_still: ReplayStill | None = None,
    ) -> None:
        self._rooms = rooms
        self._thumbnails = thumbnails
        self._settings = settings
        self._replay_still = replay_still

    async def thumbnail(self, request: Request) -> Response:
        room_id = room_id_of(request)
        try:
            room: Room | None = await self._rooms.get(room_id)
        except NotFound:
            room = None  # never was, or lapsed: its replay may live on
        thumb = None
        if (room is None or room.status == "ended") and self._replay_still is not None:
            thumb = await self._replay_still(room_id)
        if thumb is None and room is not None:
            thumb = await self._thumbnails.get(room_id)
        if thumb is None:
            raise NotFound("this room has no picture yet")
        live = room is not None and room.live
        max_age = max(1, round(self._settings.thumbnail_s)) if live else ENDED_MAX_AGE_S
        headers = {"ETag": f'"{thumb.etag}"', "Cache-Control": f"public, max-age={max_age}"}
        if thumb.etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        return Response(thumb.jpeg, media_type="image/jpeg", headers=headers)

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint(
                "GET",
                "/api/rooms/{room_id}/thumbnail.jpg",
                self.thumbnail,
                "A live room's recent picture (JPEG), or a still of its replay once ended",
                content_type="image/jpeg",
                responses={200: "image/jpeg", 304: "not modified", 404: "not_found"},
            )
        ]
