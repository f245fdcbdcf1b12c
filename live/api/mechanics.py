"""The one place the auction, waitlist and question APIs are built and their endpoints
listed. Routes exist before Redis does (the lifespan connects it), so each API object is
built from the process's services on its first request and kept on the app's state."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response

from live.api.auctions import AuctionApi
from live.api.http import Endpoint, Handler, services
from live.api.questions import QuestionApi
from live.api.waitlist import WaitlistApi
from live.commerce.auctions import AuctionStore
from live.commerce.waitlist import WaitlistStore
from live.rooms.questions import QuestionStore
from live.services import Services


class HasEndpoints(Protocol):
    def endpoints(self) -> list[Endpoint]: ...


def build_auctions(svc: Services) -> AuctionApi:
    store = AuctionStore(svc.redis, svc.keys, svc.scripts, svc.settings)
    return AuctionApi(store, svc.rooms, svc.catalog, svc.settings)


def build_waitlists(svc: Services) -> WaitlistApi:
    store = WaitlistStore(svc.redis, svc.keys, svc.scripts, svc.sales, svc.settings)
    return WaitlistApi(store, svc.settings)


def build_questions(svc: Services) -> QuestionApi:
    store = QuestionStore(svc.redis, svc.keys, svc.scripts, svc.settings)
    return QuestionApi(store, svc.rooms)


BUILDERS: dict[type[Any], Callable[[Services], Any]] = {
    AuctionApi: build_auctions,
    WaitlistApi: build_waitlists,
    QuestionApi: build_questions,
}


def mechanics_endpoints() -> list[Endpoint]:
    """Every endpoint of the APIs in BUILDERS, each handler resolving its built API."""
    endpoints: list[Endpoint] = []
    for cls in BUILDERS:
        # An unbuilt instance only lists the endpoints; requests go to the built one.
        template: HasEndpoints = object.__new__(cls)
        for ep in template.endpoints():
            endpoints.append(replace(ep, handler=_deferred(cls, ep.handler.__name__)))
    return endpoints


def _deferred(cls: type[Any], name: str) -> Handler:
    async def handler(request: Request) -> Response:
        method: Handler = getattr(api_of(request, cls), name)
        return await method(request)

    handler.__name__ = name
    return handler


def api_of(request: Request, cls: type[Any]) -> Any:
    """The API object of `cls` built from this app's current services."""
    svc = services(request)
    built: dict[type[Any], tuple[Services, Any]] | None = getattr(
        request.app.state, "mechanics_apis", None
    )
    if built is None:
        built = {}
        request.app.state.mechanics_apis = built
    entry = built.get(cls)
    if entry is None or entry[0] is not svc:
        entry = built[cls] = (svc, BUILDERS[cls](svc))
    return entry[1]
