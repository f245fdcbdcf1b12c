"""`GET /api/search`: products and rooms (and, with replays, moments), best first."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from live.api.http import Endpoint, json_response
from live.discovery.model import KINDS
from live.discovery.store import SearchStore
from live.errors import BadRequest
from live.validation import query_limit

MAX_QUERY_LEN = 200
# How deep pagination goes (as Meilisearch's maxTotalHits): nobody reads page 50.
MAX_OFFSET = 1000


def parse_query(raw: str | None) -> str:
    q = (raw or "").strip()
    if not q:
        raise BadRequest("`q` must not be empty", field="q")
    if len(q) > MAX_QUERY_LEN:
        raise BadRequest(f"`q` must be at most {MAX_QUERY_LEN} characters", field="q")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in q):
        raise BadRequest("`q` must not contain control characters", field="q")
    return q


class SearchApi:
    def __init__(self, search: SearchStore) -> None:
        self._search = search

    async def search(self, request: Request) -> Response:
        params = request.query_params
        q = parse_query(params.get("q"))
        kind = params.get("kind") or None
        if kind is not None and kind not in KINDS:
            raise BadRequest("`kind` is product, room or moment", field="kind")
        limit = query_limit(params.get("limit"))
        raw_cursor = params.get("cursor") or "0"
        if not raw_cursor.isdigit() or len(raw_cursor) > 9:
            raise BadRequest("`cursor` is not one this server gave", field="cursor")
        offset = int(raw_cursor)
        if offset > MAX_OFFSET:
            raise BadRequest(f"results go {MAX_OFFSET} deep at most", field="cursor")
        # One more than the page: whether there is a next one.
        hits, needles = self._search.search(q, kind, offset + limit + 1)
        page = hits[offset : offset + limit]
        more = offset + limit < len(hits)
        return json_response(
            {
                "results": [h.answer(needles) for h in page],
                "next": str(offset + limit) if more else None,
            }
        )

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint(
                "GET",
                "/api/search",
                self.search,
                "Search products and shows",
                query=("q", "kind", "limit", "cursor"),
                responses={200: "{results, next}", 400: "bad_request"},
            )
        ]
