"""GET /openapi.json, built from the endpoint list. Pure apart from the handler."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from live import __version__
from live.api.http import Endpoint, json_response

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}


def build_openapi(endpoints: Sequence[Endpoint]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for ep in endpoints:
        operation: dict[str, Any] = {
            "summary": ep.summary,
            "description": f"Who may call: {ep.who}.",
            "operationId": f"{ep.method.lower()}_{ep.handler.__name__}",
            "responses": _responses(ep),
        }
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"{(\w+)}", ep.path)
        ]
        params += [
            {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
            for name in ep.query
        ]
        if params:
            operation["parameters"] = params
        if ep.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {ep.content_type: {"schema": ep.body}},
            }
        if ep.who != "anyone":
            operation["security"] = [{"bearer": []}]
        paths.setdefault(ep.path, {})[ep.method.lower()] = operation
    return {
        "openapi": "3.0.3",
        "info": {"title": "live", "version": __version__},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": ERROR_SCHEMA},
        },
    }


def _responses(ep: Endpoint) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for status, text in ep.responses.items():
        answers[str(status)] = {"description": text}
    for status, text in ((400, "bad_request"), (401, "unauthorized"), (403, "forbidden")):
        if ep.who != "anyone" or status == 400:
            answers.setdefault(
                str(status),
                {
                    "description": text,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                },
            )
    return answers


def openapi_handler(endpoints: Sequence[Endpoint]) -> Endpoint:
    document = build_openapi(endpoints)

    async def openapi_json(request: Request) -> Response:
        return json_response(document)

    return Endpoint("GET", "/openapi.json", openapi_json, "This document")
