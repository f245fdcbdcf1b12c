"""The one assembly point: settings -> collaborators -> the ASGI app.

`create_app` builds every collaborator synchronously (the Redis client connects on first
use), hands each handler class the ones it needs, and returns the app; its lifespan checks
Redis and runs the background parts (room channel hub, sale worker, shop sweeper, media).
Nothing else builds or looks up collaborators.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from live.api.answers import ERROR_HANDLERS, AccessLog
from live.api.auctions import AuctionApi
from live.api.catalog import CatalogApi
from live.api.fastbuy import BuyFastPath, FastCheckout
from live.api.host_token import HostTokenApi
from live.api.http import Endpoint, HandlerGroup
from live.api.media import MediaApi
from live.api.nodes import NodesApi
from live.api.openapi import openapi_handler
from live.api.ops import OpsApi
from live.api.orders import OrdersApi
from live.api.pages import WEB_DIR, PagesApi
from live.api.questions import QuestionApi
from live.api.replays import ReplayApi
from live.api.room_media import RoomMediaApi
from live.api.rooms import RoomsApi
from live.api.sales import SalesApi
from live.api.search import SearchApi
from live.api.sessions import SessionsApi
from live.api.shop import ShopApi
from live.api.thumbnails import ThumbnailApi
from live.api.waitlist import WaitlistApi
from live.auth import TokenSigner, new_id
from live.authenticator import Authenticator
from live.clock import Clock
from live.commerce.auctions import AuctionStore
from live.commerce.bag import BagStore
from live.commerce.buying import Buying
from live.commerce.catalog import Catalog
from live.commerce.checkout import BagCheckout
from live.commerce.pay_claims import PayClaims
from live.commerce.payments import InstantPayments, PaymentProvider
from live.commerce.sales import SaleStore
from live.commerce.shopworker import ShopSweeper
from live.commerce.waitlist import WaitlistStore
from live.commerce.worker import SaleWorker
from live.discovery.documents import product_document, room_document
from live.discovery.moments import MomentIndexer
from live.discovery.store import SearchStore
from live.http_input import RequestReader
from live.logs import silence_uvicorn_access_log
from live.media import aioice_private
from live.media.hub import MediaHub
from live.media.limits import MediaLimits
from live.media.recordings import Recordings
from live.media.replays import ReplayFiles, ReplayFinisher
from live.media.thumbnails import Thumbnailer
from live.realtime.endpoint import RoomChannel
from live.realtime.hub import RoomHub
from live.realtime.questions import QuestionStore
from live.realtime.store import ChannelStore
from live.redisdb.client import Redis, check_server, connect
from live.redisdb.keys import Keys
from live.redisdb.scripts import Scripts
from live.replay.store import ReplayStore
from live.rooms.events import RoomEndedListener, RoomEvents
from live.rooms.store import RoomStore
from live.rooms.thumbnails import ThumbnailStore
from live.routing.forward import Forwarder
from live.routing.links import RelayLinks
from live.routing.listener import InternalListener
from live.routing.media import MediaRouter
from live.routing.nodes import NodeRegistry, ProcessEntry
from live.routing.owners import MediaOwners
from live.routing.peers import PATH as NODE_PATH
from live.routing.peers import NodePeers
from live.routing.presence import NodePresence
from live.routing.sealed import LinkSealer, RequestSealer, node_secret
from live.routing.tree import RelayTree
from live.routing.viewers import MediaViewers
from live.routing.workers import node_name
from live.security.header_limit import HeaderLimit
from live.security.host_tokens import HostGenerations, HostTokenGuard
from live.security.middleware import SecurityHeaders
from live.security.signing import signing_secrets
from live.settings import ServerSettings, Settings
from live.shop_jwt import ShopTokenVerifier

log = logging.getLogger("live.app")


@dataclass(frozen=True)
class Parts:
    """What `create_app` built. The app's own code never reads it: each part was handed
    its collaborators; tests read it to look at a server from inside."""

    settings: Settings
    redis: Redis
    keys: Keys
    scripts: Scripts
    clock: Clock
    authenticator: Authenticator
    events: RoomEvents
    rooms: RoomStore
    catalog: Catalog
    sales: SaleStore
    bag: BagStore
    auctions: AuctionStore
    waitlists: WaitlistStore
    questions: QuestionStore
    replays: ReplayStore
    replay_finisher: ReplayFinisher
    payments: PaymentProvider
    channel_store: ChannelStore
    room_hub: RoomHub
    sale_worker: SaleWorker
    shop_sweeper: ShopSweeper
    media_hub: MediaHub | None
    media_router: MediaRouter | None
    forwarder: Forwarder
    search: SearchStore
    moments: MomentIndexer
    thumbnails: ThumbnailStore
    thumbnailer: Thumbnailer | None
    presence: NodePresence
    relay_tree: RelayTree


class LiveApp(Starlette):
    """Starlette with the access log around everything; inside it the request header limit
    (431), the security headers and the retired-host-token guard; then, unless turned off,
    the buy fast path (live/api/fastbuy.py) in front of Starlette's own stack."""

    parts: Parts
    fast_buy: BuyFastPath | None
    host_guard: tuple[Authenticator, HostGenerations]
    server_settings: ServerSettings

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        if self.fast_buy is not None:
            stack = self.fast_buy.wrap(stack)
        stack = HostTokenGuard(stack, *self.host_guard)
        server = self.server_settings
        stack = HeaderLimit(SecurityHeaders(stack, server.embed_origins), server.max_header_bytes)
        return AccessLog(stack)


def create_app(
    settings: Settings,
    redis_url: str | None = None,
    *,
    fast_buy: bool = True,
    media: bool = True,
    payments: PaymentProvider | None = None,
) -> LiveApp:
    """The ASGI app. `redis_url` defaults to `settings.redis_url` (the embedded Redis's or
    LIVE_REDIS_URL); `fast_buy=False` leaves every buy to Starlette's routing; `media=False`
    builds a server without video (WHIP/WHEP answer 503)."""
    url = redis_url or settings.redis_url
    if not url:
        raise RuntimeError("no Redis: set LIVE_REDIS_URL or start through `live serve`")
    silence_uvicorn_access_log()
    redis = connect(url, settings)
    keys = Keys(settings.redis.key_prefix)
    scripts = Scripts(redis, history_min_age_s=settings.realtime.history_min_age_s)
    clock = Clock()
    # The signing secret is `[auth] secret`, or the random one kept in Redis, which the
    # lifespan reads before the app serves (`signing_secrets`); until then a provisional
    # one of this process's own, never anything derived from the admin token.
    signer = TokenSigner(
        settings.auth.secret.encode() or secrets.token_bytes(32),
        settings.admin_token,
        [s.encode() for s in settings.auth.previous_secrets if s],
    )
    authenticator = Authenticator(signer, ShopTokenVerifier.from_settings(settings.auth), clock)
    reader = RequestReader(settings.server, authenticator)
    events = RoomEvents(scripts, keys, settings.realtime.history_min_events)
    rooms = RoomStore(redis, keys, settings)
    catalog = Catalog(redis, keys)
    sales = SaleStore(redis, keys, scripts, settings)
    auctions = AuctionStore(redis, keys, scripts, settings)
    waitlists = WaitlistStore(redis, keys, scripts, sales, settings)
    questions = QuestionStore(redis, keys, scripts, settings)
    replays = ReplayStore(redis, keys, scripts, settings.media)
    replay_files = ReplayFiles(settings.media)
    buying = Buying(sales, authenticator, settings)
    channel_store = ChannelStore(redis, keys, scripts, settings)
    room_hub = RoomHub(redis, keys, scripts, settings, channel_store)
    bag = BagStore(redis, keys, scripts, settings.commerce, clock.now_ms)
    shop_sweeper = ShopSweeper(bag, redis, scripts, clock, settings.commerce)
    sale_worker = SaleWorker(redis, keys, scripts, sales, auctions, settings)
    media_hub: MediaHub | None = None
    router: MediaRouter | None = None
    forwarder = Forwarder(settings.internal_secret or secrets.token_urlsafe(32))
    owners = MediaOwners(redis, keys, scripts)
    media_viewers = MediaViewers(keys, scripts, clock)
    host_generations = HostGenerations(redis, keys)
    pay_claims = PayClaims(redis, keys)
    search = SearchStore(redis, keys, clock)
    moments = MomentIndexer(search)
    replay_finisher = ReplayFinisher(
        replays,
        replay_files,
        clock,
        settings.media.thumbnail_width,
        on_ready=[moments.replay_ready],
        on_lapsed=[moments.replay_deleted],
    )
    thumbnails = ThumbnailStore(redis, keys, settings.rooms)
    thumbnailer: Thumbnailer | None = None
    node = settings.node
    node_id = node_name(node.id, socket.gethostname())
    # The nodes' requests and relay links are sealed with `[node] secret`; unset, with one
    # derived from the secret this node's processes share (a deployment of one node). Never
    # from the signing secret, which the lifespan may only learn later (from Redis).
    cluster_secret = node_secret(node.secret, forwarder.secret)
    registry = NodeRegistry(redis, keys, scripts)
    peers = NodePeers(RequestSealer(cluster_secret), registry, clock)
    relay_tree = RelayTree(keys, scripts, node_id, settings.media.max_relay_children)
    if media:
        links = RelayLinks(
            relay_tree,
            LinkSealer(cluster_secret),
            node.relay_host or "127.0.0.1",
            (node.relay_port_min, node.relay_port_max),
        )
        limits = MediaLimits(redis, keys, scripts, settings, f"{os.getpid()}-{new_id('m')}")
        recordings = Recordings(replays, replay_files)
        thumbnailer = Thumbnailer(settings.media, thumbnails, clock)
        media_hub = MediaHub(
            settings.media,
            rooms,
            events,
            owners,
            clock,
            links,
            media_viewers,
            node_id,
            limits,
            recordings,
            thumbnails=thumbnailer,
            on_live_changed=[lambda room: search.put(room_document(room))],
            node_url=node.advertise_url,
        )
    presence = _presence(settings, registry, owners, media_hub, node_id)
    if media_hub is not None:
        router = MediaRouter(owners, forwarder, media_hub, peers, presence, node_id)
    payments = payments or InstantPayments()

    async def close_channel(room_id: str) -> None:
        # Every process closes its connections of the room (4009) when this event arrives.
        await events.durable(room_id, {"type": "room_ended"})
        await channel_store.expire_room(room_id)

    on_room_ended: list[RoomEndedListener] = [close_channel, sales.close_room_sales]
    if router is not None:
        on_room_ended.append(router.end_room)
    on_room_ended.append(replay_finisher.room_ended)

    viewer_counts = channel_store.viewer_counts
    sales_api = SalesApi(reader, rooms, catalog, sales, buying, settings.commerce)
    checkout = BagCheckout(bag, catalog, authenticator, settings)
    shop_api = ShopApi(reader, bag, catalog, checkout, sales, payments, settings, clock)
    apis: list[HandlerGroup] = [
        SessionsApi(reader, authenticator, redis, keys, settings),
        RoomsApi(
            reader,
            authenticator,
            rooms,
            catalog,
            bag,
            settings,
            clock,
            viewer_counts,
            on_room_ended,
            on_room_changed=[lambda room: search.put(room_document(room))],
        ),
        CatalogApi(
            reader,
            catalog,
            bag,
            settings.catalog,
            clock,
            on_product_changed=[lambda product: search.put(product_document(product))],
        ),
        SearchApi(search),
        ThumbnailApi(rooms, thumbnails, settings.media, replay_still=replays.still),
        OpsApi(
            redis,
            reader,
            settings.server.metrics_networks,
            multiprocess_metrics=settings.metrics_dir is not None,
        ),
        sales_api,
        OrdersApi(
            reader, rooms, sales, bag, payments, pay_claims, viewer_counts, settings.commerce
        ),
        shop_api,
        MediaApi(reader, rooms, router, settings, clock),
        AuctionApi(reader, auctions, rooms, catalog, settings.commerce, settings.auth),
        WaitlistApi(reader, waitlists, settings.auth),
        QuestionApi(reader, questions, rooms),
        RoomMediaApi(reader, rooms, owners, media_viewers, relay_tree),
        ReplayApi(
            reader,
            rooms,
            replays,
            replay_files,
            replay_finisher,
            bag,
            on_deleted=[moments.replay_deleted],
        ),
        NodesApi(reader, presence),
        PagesApi(),
        HostTokenApi(reader, authenticator, rooms, host_generations, settings),
    ]
    endpoints: list[Endpoint] = [ep for api in apis for ep in api.endpoints()]
    endpoints.append(openapi_handler(endpoints))
    channel = RoomChannel(
        room_hub, channel_store, reader, settings, sales.room_sales, questions, clock
    )
    routes: list[BaseRoute] = [Route(ep.path, ep.handler, methods=[ep.method]) for ep in endpoints]
    routes.append(WebSocketRoute("/ws/rooms/{room_id}", channel))
    if router is not None:
        # Other nodes' requests (sealed with the nodes' secret; not in the OpenAPI).
        routes.append(Route(NODE_PATH, router.node_endpoint, methods=["POST"]))
    routes.append(Mount("/static", StaticFiles(directory=WEB_DIR), name="static"))

    parts = Parts(
        settings=settings,
        redis=redis,
        keys=keys,
        scripts=scripts,
        clock=clock,
        authenticator=authenticator,
        events=events,
        rooms=rooms,
        catalog=catalog,
        sales=sales,
        bag=bag,
        auctions=auctions,
        waitlists=waitlists,
        questions=questions,
        replays=replays,
        replay_finisher=replay_finisher,
        payments=payments,
        channel_store=channel_store,
        room_hub=room_hub,
        sale_worker=sale_worker,
        shop_sweeper=shop_sweeper,
        media_hub=media_hub,
        media_router=router,
        forwarder=forwarder,
        search=search,
        moments=moments,
        thumbnails=thumbnails,
        thumbnailer=thumbnailer,
        presence=presence,
        relay_tree=relay_tree,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            await check_server(redis, settings)
            await bag.steps.load()
            if not settings.auth.secret:
                # Every worker and node reads the same secret (the first one written).
                current, *previous = await signing_secrets(redis, keys, settings.auth)
                signer.use_secrets(current, previous)
            async with contextlib.AsyncExitStack() as stack:
                await stack.enter_async_context(room_hub.running())
                await stack.enter_async_context(sale_worker.running())
                await stack.enter_async_context(shop_sweeper.running())
                await stack.enter_async_context(replay_finisher.running())
                await stack.enter_async_context(search.running())
                if media_hub is not None and router is not None:
                    await stack.enter_async_context(
                        _media_running(settings, media_hub, router, forwarder)
                    )
                await stack.enter_async_context(presence.running())
                log.info("ready", extra={"redis": _safe_url(url)})
                yield
        finally:
            await forwarder.aclose()
            await peers.aclose()
            await redis.aclose()

    app = LiveApp(routes=routes, lifespan=lifespan, exception_handlers=dict(ERROR_HANDLERS))
    app.parts = parts
    fast_bag = FastCheckout(checkout, shop_api.checkout)
    app.fast_buy = BuyFastPath(buying, reader, sales_api.buy, fast_bag) if fast_buy else None
    app.host_guard = (authenticator, host_generations)
    app.server_settings = settings.server
    return app


def _presence(
    settings: Settings,
    registry: NodeRegistry,
    owners: MediaOwners,
    hub: MediaHub | None,
    node_id: str,
) -> NodePresence:
    """This process's heartbeat in the node registry: what its media serves, if it has any."""
    if hub is not None:
        return NodePresence(
            registry,
            owners,
            settings.media.origin_timeout_s,
            hub.describe,
            hub.origin_lost,
            hub.reassert_origins,
            shared_secret=bool(settings.node.secret),
        )
    entry = ProcessEntry(node_id, os.getpid(), settings.node.advertise_url)

    async def nothing_to_do(*_: object) -> None:
        return None

    return NodePresence(
        registry,
        owners,
        settings.media.origin_timeout_s,
        lambda: entry,
        nothing_to_do,
        nothing_to_do,
        shared_secret=bool(settings.node.secret),
    )


@contextlib.asynccontextmanager
async def _media_running(
    settings: Settings, hub: MediaHub, router: MediaRouter, forwarder: Forwarder
) -> AsyncIterator[None]:
    """This process's media: its UDP range and remote-candidate filter, its private
    listener, its hub's ticker and relay link."""
    media = settings.media
    aioice_private.limit_udp_ports(media.udp_port_min, media.udp_port_max)
    aioice_private.filter_remote_candidates(
        media.allow_private_candidates, media.max_remote_candidates
    )
    listener = InternalListener(router.internal_app(), forwarder.secret)
    url = await listener.start()
    router.start(hub.start(url))
    try:
        yield
    finally:
        await hub.aclose()
        await listener.aclose()


def _safe_url(url: str) -> str:
    # Keep passwords out of logs.
    if "@" in url:
        scheme, _, rest = url.partition("://")
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
