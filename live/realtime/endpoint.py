"""`GET /ws/rooms/{room_id}`: the room channel. Checks who is connecting, sends the
snapshot (or the missed events), then reads the client's messages until it leaves."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from live.auth import Identity, new_id
from live.clock import Clock
from live.errors import LiveError
from live.http_input import RequestReader, in_networks
from live.realtime import protocol
from live.realtime.batch import frame
from live.realtime.hub import Connection, RoomHub
from live.realtime.moderation import chat_role, check_target, name_reserved
from live.realtime.protocol import ChannelError, Command
from live.realtime.questions import QuestionStore, ask_or_answer
from live.realtime.store import ChannelStore, Snapshot
from live.realtime.uvicorn_private import DirectWriter, direct_writer
from live.redisdb.errors import RedisError
from live.rooms.model import ROOM_ID_RE, Room
from live.settings import Settings

log = logging.getLogger("live.realtime")
# The room's sales for a snapshot, newest first (live.commerce.sales.SaleStore.room_sales).
RoomSales = Callable[[str], Awaitable[list[dict[str, Any]]]]


class RoomChannel:
    """The route's ASGI app. Frames go through the server's own `send`, not through
    Starlette's `WebSocket.send` wrappers: it is the one call made per connection and
    frame, so it is kept as short as ASGI allows; under uvicorn, ready-made frames go
    straight to the transport instead (live.realtime.uvicorn_private.DirectWriter)."""

    def __init__(
        self,
        hub: RoomHub,
        store: ChannelStore,
        reader: RequestReader,
        settings: Settings,
        room_sales: RoomSales,
        questions: QuestionStore,
        clock: Clock,
    ) -> None:
        self.hub = hub
        self.store = store
        self.reader = reader
        self.settings = settings
        self.room_sales = room_sales
        self.questions = questions
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await room_channel(self, WebSocket(scope, receive, send), send, direct_writer(receive))


async def room_channel(
    channel: RoomChannel, websocket: WebSocket, send: Send, direct: DirectWriter | None = None
) -> None:
    hub = channel.hub
    if not channel.settings.realtime.direct_write:
        direct = None
    room_id = str(websocket.path_params["room_id"])
    ip = channel.reader.client_ip(websocket)
    code, identity = _admission(websocket, channel)
    # Anything but a room id is no room, refused before subscribing to anything for it.
    if code is None and not ROOM_ID_RE.match(room_id):
        code = protocol.CLOSE_UNKNOWN_ROOM
    reason: str | None = None
    lease: str | None = None
    if code is None and not in_networks(ip, channel.settings.limits.exempt_networks):
        code, reason, lease = await _take_slot(hub, ip, room_id)
    try:
        await websocket.accept()
        if code is not None:
            await websocket.close(code, reason)
            return
        await _serve(websocket, channel, hub, room_id, identity, ip, send, direct)
    finally:
        if lease is not None:
            hub.cap.release(lease)


async def _take_slot(
    hub: RoomHub, ip: str, room_id: str
) -> tuple[int | None, str | None, str | None]:
    """One of the address's `[limits] connections_per_ip`, counted over every worker in
    Redis: (close code, reason, None) when refused, (None, None, lease) when admitted."""
    try:
        lease = await hub.cap.admit(ip)
    except (RedisError, OSError, TimeoutError) as exc:
        log.warning("connection limit unavailable", extra={"room_id": room_id, "error": str(exc)})
        return protocol.CLOSE_RESTARTING, "the store is unavailable", None
    if lease is None:
        return protocol.CLOSE_TRY_LATER, "too many connections from this address", None
    return None, None, lease


async def _serve(
    websocket: WebSocket,
    channel: RoomChannel,
    hub: RoomHub,
    room_id: str,
    identity: Identity | None,
    ip: str,
    send: Send,
    direct: DirectWriter | None,
) -> None:
    store = channel.store
    limit = channel.settings.realtime.send_buffer_bytes
    conn = Connection(room_id, identity, send, limit, on_closed=hub.leave, ip=ip, direct=direct)
    try:
        await hub.join(conn)
        room = await _send_snapshot(websocket, channel, store, hub, conn, identity)
        if room is not None:
            reserved = identity is not None and name_reserved(identity, room_id, room.host_name)
            await _read_messages(websocket, channel, store, hub, conn, identity, reserved)
    except (RedisError, OSError, TimeoutError) as exc:
        log.warning("room channel failed", extra={"room_id": room_id, "error": str(exc)})
        conn.outbox.close(protocol.CLOSE_RESTARTING, "the store is unavailable")
    except Exception:
        log.exception("room channel failed", extra={"room_id": room_id})
        conn.outbox.close(1011, "internal error")
    finally:
        hub.leave(conn)


def _admission(websocket: WebSocket, channel: RoomChannel) -> tuple[int | None, Identity | None]:
    """The close code refusing this connection (None: admitted), and who it is."""
    allowed = channel.settings.server.allowed_origins
    headers = websocket.headers
    if not protocol.origin_allowed(headers.get("origin"), headers.get("host"), allowed):
        return protocol.CLOSE_FORBIDDEN, None
    try:
        return None, channel.reader.identity(websocket, allow_query=True)
    except LiveError:
        return protocol.CLOSE_UNAUTHORIZED, None


async def _send_snapshot(
    websocket: WebSocket,
    channel: RoomChannel,
    store: ChannelStore,
    hub: RoomHub,
    conn: Connection,
    identity: Identity | None,
) -> Room | None:
    """Send the snapshot; the room when the connection goes on reading, else None."""
    since, epoch = protocol.parse_resume(
        websocket.query_params.get("since"), websocket.query_params.get("epoch")
    )
    snap = await store.snapshot(conn.room_id, conn.user_id, since, epoch, conn.ip, conn.is_staff)
    if snap == "not_found":
        conn.outbox.close(protocol.CLOSE_UNKNOWN_ROOM, "no such room")
        return None
    if not isinstance(snap, Snapshot):
        conn.outbox.close(protocol.CLOSE_FORBIDDEN, "banned from this room")
        return None
    # Sales are read after the snapshot, never before: a sale opened in between is then in
    # `sales` (and its sale_open follows), never in neither.
    sales = await channel.room_sales(conn.room_id)
    event = _snapshot_event(channel, snap, sales, identity, conn)
    event["node"] = hub.process_id
    history = snap.events if snap.recovered else []
    hub.go_live(conn, [orjson.dumps(event), *history], snap.seq)
    if snap.room.status != "open":
        conn.outbox.close(protocol.CLOSE_ROOM_ENDED, "the room has ended")
        return None
    return snap.room


def _snapshot_event(
    channel: RoomChannel,
    snap: Snapshot,
    sales: list[dict[str, Any]],
    identity: Identity | None,
    conn: Connection,
) -> dict[str, Any]:
    you = None
    if identity is not None:
        you = {"user_id": identity.user_id, "name": identity.name, "staff": conn.is_staff}
    return {
        "type": "snapshot",
        "ts": channel.clock.now_ms(),
        "seq": snap.seq,
        "epoch": snap.epoch,
        "room": snap.room.to_public(snap.viewers),
        "pinned": snap.pinned,
        "sales": sales,
        "viewers": snap.viewers,
        "likes": snap.likes,
        "chat": [] if snap.recovered else [orjson.loads(raw) for raw in snap.events],
        "recovered": snap.recovered,
        "slow_mode": snap.slow_mode,
        "you": you,
    }


async def _read_messages(
    websocket: WebSocket,
    channel: RoomChannel,
    store: ChannelStore,
    hub: RoomHub,
    conn: Connection,
    identity: Identity | None,
    name_is_reserved: bool = False,
) -> None:
    limiter = protocol.inbound_limiter(channel.settings.realtime, conn.is_staff)
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        data = message.get("text")
        if data is None:
            data = message.get("bytes")
        if data is None:
            continue
        try:
            if not limiter.allow():
                raise ChannelError("rate_limited", "too many messages on this connection")
            command = protocol.parse_command(data, channel.settings)
            protocol.check_allowed(command, conn.is_staff, identity is not None)
            if command.type == "chat" and name_is_reserved:
                raise ChannelError("name_reserved", "that name is the host's; pick another")
            await _handle(command, channel, store, hub, conn, identity)
        except ChannelError as exc:
            _reply(conn, exc.event(channel.clock.now_ms()))
        except RedisError:
            unavailable = ChannelError("unavailable", "the store is unavailable; retry")
            _reply(conn, unavailable.event(channel.clock.now_ms()))
        except Exception:
            # A bad frame never ends the connection; the error is logged for us.
            log.exception("room channel message failed", extra={"room_id": conn.room_id})
            _reply(conn, ChannelError("internal", "internal error").event(channel.clock.now_ms()))


def _reply(conn: Connection, event: dict[str, Any]) -> None:
    conn.outbox.push(frame([orjson.dumps(event)]))


async def _handle(
    command: Command,
    channel: RoomChannel,
    store: ChannelStore,
    hub: RoomHub,
    conn: Connection,
    identity: Identity | None,
) -> None:
    room_id = conn.room_id
    kind = command.type
    if kind == "ping":
        _reply(conn, {"type": "pong", "ts": channel.clock.now_ms()})
    elif kind == "like":
        hub.add_like(room_id)
    elif kind == "chat":
        assert identity is not None
        text = protocol.filter_words(command.text, channel.settings.chat.word_filter)
        role = chat_role(identity, room_id)
        msg_id = new_id("m")
        await store.chat(
            room_id, identity.user_id, identity.name, text, msg_id, conn.is_staff, role, conn.ip
        )
    elif kind == "pin":
        await store.pin(room_id, command.sku)
    elif kind == "unpin":
        await store.pin(room_id, None)
    elif kind == "delete_chat":
        await store.moderate(room_id, kind, command.msg_id)
    elif kind in ("mute", "ban"):
        assert identity is not None
        check_target(identity, command.user_id)
        await store.moderate(room_id, kind, command.user_id, command.seconds, command.scope)
    elif kind in ("unmute", "unban"):
        await store.moderate(room_id, kind, command.user_id)
    elif kind == "slow_mode":
        await store.moderate(room_id, kind, str(command.seconds))
    elif kind in ("question", "answer"):
        assert identity is not None
        await ask_or_answer(channel.questions, command, identity, room_id)
