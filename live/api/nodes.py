"""`GET /api/nodes` (admin): the nodes of the deployment, from the node registry.

Each node is one `live serve` (all its workers), listed while any of its processes beats
(live.routing.presence); a node whose processes all stopped drops out within the stale
time (`[media] origin_timeout_s`, see docs/operations.md). `POST
/api/nodes/{node_id}/drain` keeps new rooms' origins off a node (its shows go on) until it
is undone.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from live.api.http import Endpoint, json_response, path_param
from live.auth import require_admin
from live.errors import BadRequest, NotFound
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

    async def drain(self, request: Request) -> Response:
        """Stop (or resume) placing new rooms' origins on a node; its shows go on."""
        require_admin(self._reader.identity(request))
        node_id = path_param(request, "node_id")
        body = await self._reader.read_json(request)
        draining = body.get("draining", True) if isinstance(body, dict) else None
        if not isinstance(draining, bool):
            raise BadRequest("`draining` must be true or false", field="draining")
        listed = {n.node_id: n for n in summarize(await self._directory.processes())}
        if draining and node_id not in listed:
            raise NotFound("no such node is running")
        await self._directory.drain(node_id, draining)
        nodes = summarize(await self._directory.processes())
        node = next((n for n in nodes if n.node_id == node_id), None)
        return json_response(node.to_json() if node else {"node_id": node_id, "draining": draining})

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
            ),
            Endpoint(
                "POST",
                "/api/nodes/{node_id}/drain",
                self.drain,
                "Drain a node: no new room's origin goes there (`draining: false` undoes it)",
                who="admin",
                body={"draining": "boolean, default true"},
                responses={200: "the node", 400: "bad_request", 404: "not_found"},
            ),
        ]
