"""Replays: `GET`/`DELETE /api/rooms/{room_id}/replay` and the recording's files.

The files are served from `[media] recordings_dir` by any worker or node (a directory they
all share), with byte ranges (206, `Accept-Ranges`), `ETag` and `Last-Modified`, so a
`<video>` can seek and a browser can revalidate. A replay still "recording" after its room
ended is finished here (its finisher died). A deleted replay's chapters go to the
`on_deleted` listeners (its moments leave the search).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from live.api.bagstore import with_availability
from live.api.http import Endpoint, error_response, json_response, path_param
from live.api.rooms import room_id_of
from live.auth import require_manager
from live.commerce.bag import BagStore
from live.errors import BadRequest, LiveError, NotFound
from live.http_input import RequestReader
from live.media.replays import ReplayFiles, ReplayFinisher
from live.replay.rules import replay_view
from live.replay.store import ChaptersListener, ReplayStore
from live.rooms.store import RoomStore

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeNotSatisfiable(LiveError):
    status = 416
    default_code = "range_not_satisfiable"


def check_range(header: str | None, size: int) -> None:
    """One byte range (`bytes=a-b`, `a-`, `-n`) that fits a file of `size` bytes, or an
    error with its code (Starlette's own answers would be plain text)."""
    if header is None:
        return
    match = _RANGE.match(header.strip())
    if match is None or match.groups() == ("", ""):
        raise BadRequest("Range must be one byte range, bytes=START-END", field="Range")
    start, end = match.groups()
    if start and (int(start) >= size or (end and int(end) < int(start))):
        raise RangeNotSatisfiable(f"the file has {size} bytes", size=size)
    if not start and int(end) == 0:
        raise RangeNotSatisfiable(f"the file has {size} bytes", size=size)


class ReplayApi:
    def __init__(
        self,
        reader: RequestReader,
        rooms: RoomStore,
        replays: ReplayStore,
        files: ReplayFiles,
        finisher: ReplayFinisher,
        bag: BagStore,
        on_deleted: Sequence[ChaptersListener] = (),
    ) -> None:
        self._reader = reader
        self._rooms = rooms
        self._replays = replays
        self._files = files
        self._finisher = finisher
        self._bag = bag
        self._on_deleted = on_deleted

    async def replay(self, request: Request) -> Response:
        room_id = room_id_of(request)
        record = await self._replays.get(room_id)
        if record is None:
            await self._rooms.get(room_id)  # 404 for a room that never was
            return json_response(replay_view(room_id, {}, [], ""))
        if record.status == "recording" and not await self._room_open(room_id):
            self._finisher.finish_soon(room_id)
        chapters = await self._replays.chapters(room_id)
        fields = record.fields
        view = replay_view(room_id, fields, chapters, f"/api/rooms/{room_id}/replay/files")
        if view["status"] == "ready":
            view["products"] = await self._products(room_id)
        return json_response(view)

    async def _products(self, room_id: str) -> list[dict[str, Any]]:
        cards = await self._replays.lineup(room_id)
        return await with_availability(self._bag, cards) if cards else []

    async def _room_open(self, room_id: str) -> bool:
        try:
            return (await self._rooms.get(room_id)).status == "open"
        except NotFound:
            return False

    async def delete(self, request: Request) -> Response:
        room_id = room_id_of(request)
        require_manager(self._reader.identity(request), room_id)
        # Read first: the deletion takes the chapters with it (none are added once ended).
        chapters = await self._replays.with_chapters(room_id)
        await self._replays.delete(room_id)
        await self._files.remove(room_id)
        for listener in self._on_deleted:
            await listener(chapters)
        return json_response({"room_id": room_id, "status": "none"})

    async def file(self, request: Request) -> Response:
        room_id = room_id_of(request)
        path = self._files.path(room_id, path_param(request, "name"))
        record = await self._replays.get(room_id)
        if path is None or record is None or record.status != "ready" or not path.is_file():
            raise NotFound("no such replay file")
        stat = path.stat()
        etag = FileResponse(path, stat_result=stat).headers["etag"]
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers={"ETag": etag})
        try:
            check_range(request.headers.get("range"), stat.st_size)
        except RangeNotSatisfiable as exc:
            answer = error_response(exc)
            answer.headers["Content-Range"] = f"bytes */{stat.st_size}"
            return answer
        media_type = "video/webm" if path.suffix == ".webm" else "video/mp4"
        return FileResponse(
            path,
            media_type=media_type,
            stat_result=stat,
            headers={"Cache-Control": "public, max-age=3600"},
        )

    def endpoints(self) -> list[Endpoint]:
        base = "/api/rooms/{room_id}/replay"
        return [
            Endpoint(
                "GET",
                base,
                self.replay,
                "The room's replay: status, duration, file URL, chapters, line-up",
                responses={
                    200: "{status, duration_ms, url, content_type, chapters, products?}",
                    404: "not_found",
                },
            ),
            Endpoint(
                "DELETE",
                base,
                self.delete,
                "Delete the room's replay (its files, chapters and line-up)",
                who="host, admin",
                responses={200: "{room_id, status}", 404: "not_found", 409: "recording"},
            ),
            Endpoint(
                "GET",
                base + "/files/{name}",
                self.file,
                "The replay's recording, with byte ranges",
                responses={
                    200: "the file",
                    206: "a byte range",
                    304: "not modified",
                    404: "not_found",
                    416: "range_not_satisfiable",
                },
            ),
        ]
