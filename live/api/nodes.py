"""`GET /api/nodes` (admin): the nodes of the deployment, from the node registry.

Each node is one `live serve` (all its workers), listed while any of its processes beats
(live.routing.presence); a node whose processes all stopped drops out within the stale
time (`[media] origin_timeout_s`, see docs/operations.md).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from live.api.http import Endpoint, json_response
from live.auth import require_admin
from live.http_input import RequestReader
from live.routing.media import NodeDirectory
from live.routing.placement import summarize


class NodesApi:
    def __init__(self, reader: RequestReader, directory: NodeDirectory) -> None:
        self._reader = reader
        self._directory = directory

    async def nodes(self, request: Request) -> Response:
        require_admin(self._reader.identity(request))
        nodes = summarize(await self._directory.processes())
        return json_response({"nodes": [node.to_json() for node in nodes]})

    def endpoints(self) -> list[Endpoint]:
        return [
            Endpoint(
                "GET",
                "/api/nodes",
                self.nodes,
                "The nodes serving this deployment, with their workers, rooms and viewers",
                who="admin",
                responses={
                    200: "{nodes: [{node_id, url, workers, rooms, media_viewers, seen_at,"
                    " origins, processes}]}",
                    401: "unauthorized",
                    403: "forbidden",
                },
            )
        ]
