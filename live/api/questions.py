"""Questions and answers: a product's answered questions, a room's open question queue."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from live.api.catalog import parse_sku
from live.api.http import Endpoint, json_response, path_param
from live.api.rooms import room_id_of
from live.auth import require_manager
from live.http_input import RequestReader
from live.realtime.questions import QuestionStore
from live.rooms.store import RoomStore
from live.validation import query_limit


class QuestionApi:
    def __init__(self, reader: RequestReader, questions: QuestionStore, rooms: RoomStore) -> None:
        self._reader = reader
        self._questions = questions
        self._rooms = rooms

    async def product_answers(self, request: Request) -> Response:
        sku = parse_sku(path_param(request, "sku"))
        limit = query_limit(request.query_params.get("limit"))
        return json_response({"answers": await self._questions.product_answers(sku, limit)})

    async def room_questions(self, request: Request) -> Response:
        room_id = room_id_of(request)
        require_manager(self._reader.identity(request), room_id)
        await self._rooms.get(room_id)
        return json_response({"questions": await self._questions.room_questions(room_id)})

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint(
                "GET",
                "/api/products/{sku}/answers",
                self.product_answers,
                "A product's answered questions, newest first",
                query=("limit",),
                responses={200: "{answers: [{question_id, text, answer, sku, name, ...}]}"},
            ),
            Endpoint(
                "GET",
                "/api/rooms/{room_id}/questions",
                self.room_questions,
                "The room's unanswered questions, newest first (the studio's queue)",
                who="host, admin",
                responses={200: "{questions}", 404: "not_found"},
            ),
        ]
