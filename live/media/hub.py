"""This process's media sessions: signalling, live state, clean-up, relay links.

A room's publisher lives in one process, the room's *origin* (an aiortc peer cannot
move), recorded in Redis (`{r:<room>}:media_owner`, renewed by this hub's heartbeat); WHIP
landing elsewhere is forwarded to it (see `live.routing.media`). Viewers are served by
whichever process their WHEP reached: a process with viewers of a room it does not
originate (an *edge*) pulls one copy of each frame from the origin over the relay link
(`live.routing.links`) and sends it to its viewers as the origin does to its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import secrets
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from typing import Any

from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpCodecCapability,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.exceptions import OperationError

from live import metrics
from live.clock import Clock
from live.errors import BadRequest, NotFound, UnsupportedCodec
from live.media.limits import MediaLimits, Ticket
from live.media.recordings import Recordings
from live.media.relay import MediaSession, RoomRelay
from live.media.sdp import (
    VIDEO_CODECS,
    check_play_offer,
    check_publish_offer,
    rewrite_host_candidates,
)
from live.media.thumbnails import Thumbnailer
from live.rooms.events import RoomEvents
from live.rooms.model import Room
from live.rooms.store import RoomStore
from live.routing.link import LinkFrame
from live.routing.links import RelayLinks
from live.routing.nodes import ProcessEntry
from live.routing.owners import MediaOwners
from live.routing.viewers import MediaViewers
from live.routing.workers import WorkerAddress, port_of, viewer_session_id
from live.settings import MediaSettings
from live.tasks import stop_task

log = logging.getLogger("live.media")

# Told of a room whose live flag this process changed (the search index's one writer).
LiveChanged = Callable[[Room], Awaitable[None]]

TICK_S = 0.25
HEARTBEAT_S = 5.0
# aiortc closes a connection in well under a second; past this something is stuck.
PEER_CLOSE_TIMEOUT_S = 5.0
# Publisher sessions ended without a DELETE that this process remembers (newest kept).
ENDED_KEPT = 256


def codec_preferences(kind: str, codecs: Iterable[str]) -> list[RTCRtpCodecCapability]:
    """aiortc's capabilities for the video `codecs` (with RTX), or Opus for audio."""
    if kind == "video":
        wanted = {f"video/{VIDEO_CODECS[codec]}".lower() for codec in codecs} | {"video/rtx"}
    else:
        wanted = {"audio/opus"}
    return [c for c in RTCRtpSender.getCapabilities(kind).codecs if c.mimeType.lower() in wanted]


class MediaHub:
    """This process's rooms, sessions and the single ticker that keeps them tidy."""

    def __init__(
        self,
        settings: MediaSettings,
        rooms: RoomStore,
        events: RoomEvents,
        owners: MediaOwners,
        clock: Clock,
        links: RelayLinks,
        viewer_counts: MediaViewers,
        node_id: str,
        limits: MediaLimits,
        recordings: Recordings,
        thumbnails: Thumbnailer | None = None,
        on_live_changed: Sequence[LiveChanged] = (),
        node_url: str = "",
    ) -> None:
        self._thumbnails = thumbnails
        self._on_live_changed = tuple(on_live_changed)
        self._settings = settings
        self._rooms = rooms
        self._events = events
        self._owners = owners
        self._ended_here: dict[str, str] = {}  # publisher session id -> room id
        self._clock = clock
        self._links = links
        self._viewer_counts = viewer_counts
        self._recordings = recordings
        self.node_id = node_id
        self.node_url = node_url
        self.pid = os.getpid()
        # This process as its siblings reach it: its private listener and relay link, in
        # the owner lease of the rooms it originates (set by `start`).
        self.address = ""
        self.url = ""
        self._listener_port = 0
        self.codec = settings.codec
        self.relays: dict[str, RoomRelay] = {}
        self.sessions: dict[str, MediaSession] = {}
        # Rooms this process claimed by a WHIP (the origin): their leases are renewed here.
        self.originated: set[str] = set()
        # Rooms whose viewer count changed since it was last written to Redis.
        self._counts_dirty: set[str] = set()
        self._reported: dict[str, int] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self._ticker: asyncio.Task[None] | None = None
        # `[media] max_sessions_per_ip` and `max_viewers_per_room`, over every process.
        self.limits = limits

    # --- lifecycle ------------------------------------------------------------
    def start(self, url: str) -> str:
        """Start on the private listener at `url`: this process's address (owner leases)."""
        relay = self._links.start(self)
        self.url = url
        self._listener_port = port_of(url)
        self.address = WorkerAddress(url, relay, self.node_id, self.pid, self.node_url).encode()
        self._links.named(self.address)
        self._ticker = asyncio.create_task(self._tick_forever())
        self.limits.start()
        return self.address

    async def aclose(self) -> None:
        await stop_task(self._ticker)
        for session in list(self.sessions.values()):
            await self.close_session(session, "shutdown")
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
        await self._recordings.aclose()
        with contextlib.suppress(Exception):
            await self._report_counts(set(self._reported), final=True)
        await self.limits.aclose()
        if self._thumbnails is not None:
            await self._thumbnails.aclose()
        await self._links.aclose()

    # --- signalling -------------------------------------------------------------
    async def publish(
        self, room_id: str, offer: str, room_live: bool = False, client: str = ""
    ) -> tuple[str, str]:
        """WHIP: a new publishing session (replacing the previous one); (id, answer). The
        room's video codec becomes the one this publisher sends."""
        kinds, codec = check_publish_offer(offer, self.codec)
        await self._forget_stale_live(room_id, room_live)
        ticket = await self._admit(client, room_id, "publisher")
        session = self._new_session(room_id, "publisher")
        self._bind(session, ticket)
        for kind in kinds:
            transceiver = session.pc.addTransceiver(kind, direction="recvonly")
            transceiver.setCodecPreferences(codec_preferences(kind, [codec]))
        try:
            answer = await self._answer(session, offer)
        except BaseException:
            self._unbind(session)
            raise
        for transceiver in session.pc.getTransceivers():
            if transceiver.kind not in session.receivers:
                session.receivers[transceiver.kind] = transceiver.receiver
        # This process won the room's lease (the router claimed it): it is the origin,
        # and pulls the room from nowhere else.
        self.originated.add(room_id)
        self._links.stop_pulling(room_id)
        relay = self._relay(room_id)
        await self._recordings.publisher_starting(relay, codec)
        relay.tap(session, codec)
        self._register(session)
        previous = relay.set_publisher(session, codec)
        if previous is not None:
            log.info("publisher replaced", extra={"room_id": room_id})
            self._close_soon(previous, "replaced")
        return session.session_id, answer

    async def play(
        self, room_id: str, offer: str, room_live: bool = False, client: str = ""
    ) -> tuple[str, str]:
        """WHEP, answered here whichever process holds the publisher; frames flow once the
        room has one (here, or at its origin over the relay link). `client`: the address
        `[media] max_sessions_per_ip` counts (live.media.limits). The answer carries every
        video codec of the offer that a room may carry: a room's codec follows its
        publisher, and WHEP cannot renegotiate."""
        kinds, codecs = check_play_offer(offer)
        ticket = await self._admit(client, room_id, "viewer")
        session = self._new_session(room_id, "viewer")
        self._bind(session, ticket)
        relay = self._relay(room_id)
        relay.add_viewer(session, kinds)
        try:
            for kind, sender in session.senders.items():
                transceiver = session.pc.addTransceiver(sender.track, direction="sendonly")
                transceiver.setCodecPreferences(codec_preferences(kind, codecs))
                relay.on_viewer_sender(transceiver.sender, sender)
            answer = await self._answer(session, offer)
        except BaseException:
            relay.viewers.pop(session.session_id, None)
            self._drop_relay_if_empty(relay)
            self._unbind(session)
            raise
        self._register(session)
        self._counts_dirty.add(room_id)
        if relay.publisher is None and room_id not in self.originated:
            owner = await self._links.watch(room_id)
            if owner is None and room_live:
                # The room says live but no process holds it: its origin died.
                await self._set_live(room_id, False)
        return session.session_id, answer

    def viewer_clock(self, session_id: str) -> str:
        """A viewer's media clock, for its WHEP answer (`X-Live-Media-Clock`): its video's
        RTP timestamp minus `offset`, at `rate` Hz, is the frame's position on the room's
        media clock (`media_ms` of room events; docs/protocol.md)."""
        session = self.sessions.get(session_id)
        video = session.senders.get("video") if session is not None else None
        if video is None:
            return ""
        return f"offset={video.ts_origin}; rate=90000"

    async def end(self, room_id: str, role: str, session_id: str) -> None:
        """DELETE on a session's Location."""
        session = self.sessions.get(session_id)
        if session is None or session.room_id != room_id or session.role != role:
            if role == "publisher" and await self._publisher_ended_lately(room_id, session_id):
                return  # it ended when its connection closed: the DELETE finds it done
            raise NotFound("no such media session")
        await self.close_session(session, "deleted")

    async def _publisher_ended_lately(self, room_id: str, session_id: str) -> bool:
        if self._ended_here.get(session_id) == room_id:
            return True
        try:
            return await self._owners.ended_lately(room_id, session_id)
        except Exception:
            return False

    async def end_room(self, room_id: str) -> None:
        """The room ended: every session of it goes, here and at the edges it feeds."""
        if room_id in self.originated:
            self._links.send_ended(room_id)
        for session in [s for s in self.sessions.values() if s.room_id == room_id]:
            await self.close_session(session, "room ended")

    async def _forget_stale_live(self, room_id: str, room_live: bool) -> None:
        # The room says live but this process, now its origin, holds no publisher for it:
        # the process that held the publisher died. The room is not live until a new publish.
        relay = self.relays.get(room_id)
        if room_live and (relay is None or relay.publisher is None):
            await self._set_live(room_id, False)

    async def _admit(self, client: str, room_id: str, role: str) -> Ticket:
        return await self.limits.admit(client, room_id, role)

    def _bind(self, session: MediaSession, ticket: Ticket) -> None:
        self.limits.bind(session.session_id, ticket)

    def _unbind(self, session: MediaSession) -> None:
        self.limits.session_ended(session.session_id)

    def _new_session(self, room_id: str, role: str) -> MediaSession:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        if role == "publisher":
            session_id = "p" + secrets.token_hex(8)
        else:
            # Names this process, so a DELETE landing on a sibling is forwarded here.
            session_id = viewer_session_id(self._listener_port, secrets.token_hex(6), self.node_id)
        return MediaSession(session_id, room_id, role, pc)

    async def _answer(self, session: MediaSession, offer: str) -> str:
        pc = session.pc
        try:
            await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
            await pc.setLocalDescription(await pc.createAnswer())
        except OperationError as exc:
            await pc.close()
            raise UnsupportedCodec(f"the offer cannot use this room's codecs: {exc}") from exc
        except Exception as exc:
            # aiortc refuses malformed offers with assorted exceptions (no ICE credentials,
            # no fingerprint, bad attributes): all of them are the client's bad request.
            await pc.close()
            log.info("offer refused", extra={"room_id": session.room_id, "error": repr(exc)})
            raise BadRequest(f"the SDP offer was refused: {exc!r}") from exc
        return rewrite_host_candidates(pc.localDescription.sdp, self._settings.public_ip)

    async def _close_peer(self, session: MediaSession) -> None:
        """Close the session's peer connection, bounded: a DELETE or a shutdown must not
        wait forever on a transport that never finishes stopping."""
        try:
            await asyncio.wait_for(session.pc.close(), PEER_CLOSE_TIMEOUT_S)
        except TimeoutError:
            log.warning(
                "peer connection close timed out",
                extra={"room_id": session.room_id, "role": session.role},
            )

    def _register(self, session: MediaSession) -> None:
        self.sessions[session.session_id] = session
        metrics.MEDIA_SESSIONS.labels(session.role).inc()

        @session.pc.on("connectionstatechange")
        async def on_state() -> None:
            state = session.pc.connectionState
            if state == "connected" and not session.connected:
                session.connected = True
                log.info(
                    "media connected", extra={"room_id": session.room_id, "role": session.role}
                )
                if session.role == "publisher":
                    await self._publisher_connected(session)
            elif state in ("failed", "closed"):
                await self.close_session(session, state)

    def _relay(self, room_id: str) -> RoomRelay:
        relay = self.relays.get(room_id)
        if relay is None:
            relay = self.relays[room_id] = RoomRelay(room_id, self.codec)
            relay.on_frame = functools.partial(self._links.send_frame, room_id)
            relay.upstream_keyframe = functools.partial(self._links.request_keyframe, room_id)
            if self._thumbnails is not None:
                relay.on_keyframe = functools.partial(self._thumbnails.offer, room_id, self.codec)
        return relay

    # --- the relay link (live.routing.links calls these) ---------------------------
    def link_frame(self, frame: LinkFrame, gap: bool) -> None:
        relay = self.relays.get(frame.room_id)
        if relay is not None:
            relay.forward_link(frame, gap)

    def link_keyframe_request(self, room_id: str) -> None:
        relay = self.relays.get(room_id)
        if relay is not None and relay.publisher is not None:
            relay.request_keyframe()

    def link_origin_changed(self, room_id: str, origin: WorkerAddress | None) -> None:
        relay = self.relays.get(room_id)
        if relay is not None:
            relay.upstream_changed()
        log.info(
            "relay origin changed",
            extra={"room_id": room_id, "origin": origin.url if origin else None},
        )
        if origin is None:
            # The origin's lease lapsed (its process died): the room is not live until
            # the host publishes again; viewers here keep their sessions meanwhile.
            self._soon(self._set_live(room_id, False))

    def link_room_ended(self, room_id: str) -> None:
        self._soon(self.end_room(room_id))

    def _soon(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    # --- live state and clean-up -------------------------------------------------
    async def _publisher_connected(self, session: MediaSession) -> None:
        relay = self.relays.get(session.room_id)
        if relay is None or relay.publisher is not session:
            return
        await self._set_live(session.room_id, True)

    async def _set_live(self, room_id: str, live: bool) -> None:
        try:
            # The room's record is the one place "live" is kept: announced when it changes.
            room, changed = await self._rooms.set_live(room_id, live, self._clock.now_ms())
            if changed and room.status == "open":
                await self._events.durable(
                    room_id, {"type": "live_started" if live else "live_ended"}
                )
            if changed:
                for listener in self._on_live_changed:
                    await listener(room)
        except Exception:
            # Redis trouble must not tear down the media; the flag heals on the next change.
            log.exception("could not record the room's live state", extra={"room_id": room_id})

    def _close_soon(self, session: MediaSession, reason: str) -> None:
        self._soon(self.close_session(session, reason))

    async def close_session(self, session: MediaSession, reason: str) -> None:
        """Close one session (idempotent); the room goes not-live if its publisher left."""
        if session.closed:
            return
        session.closed = True
        # The session's limit leases go first (in the background); awaited at the end.
        freed = self.limits.session_ended(session.session_id)
        if self.sessions.pop(session.session_id, None) is not None:
            metrics.MEDIA_SESSIONS.labels(session.role).dec()
        metrics.MEDIA_CLOSED.labels(reason).inc()
        for sender in session.senders.values():
            sender.stop()
        log.info(
            "media closed",
            extra={"room_id": session.room_id, "role": session.role, "reason": reason},
        )
        relay = self.relays.get(session.room_id)
        went_dark = False
        if relay is not None:
            if relay.viewers.pop(session.session_id, None) is not None:
                self._counts_dirty.add(session.room_id)
            if relay.publisher is session:
                relay.publisher = None
                went_dark = True
                if reason != "deleted":
                    self._remember_ended(session)
        await self._close_peer(session)
        if went_dark:
            if relay is not None:
                await self._recordings.publisher_left(relay)
            await self._set_live(session.room_id, False)
        if relay is not None:
            self._drop_relay_if_empty(relay)
        if freed:
            # A DELETE answered 200 has freed the session's places on every process.
            await asyncio.gather(*freed, return_exceptions=True)

    def _remember_ended(self, session: MediaSession) -> None:
        """A publisher gone without a DELETE: WHIP clients that close their connection
        before deleting (whip.js's stop()) get 200 for the late DELETE, on this process at
        once and on any other (and any node) through Redis."""
        self._ended_here[session.session_id] = session.room_id
        while len(self._ended_here) > ENDED_KEPT:
            del self._ended_here[next(iter(self._ended_here))]
        self._soon(self._write_ended(session.room_id, session.session_id))

    async def _write_ended(self, room_id: str, session_id: str) -> None:
        try:
            await self._owners.publisher_ended(room_id, session_id)
        except Exception:
            log.warning("could not note the publisher's end", extra={"room_id": room_id})

    def _drop_relay_if_empty(self, relay: RoomRelay) -> None:
        if relay.empty and self.relays.get(relay.room_id) is relay:
            del self.relays[relay.room_id]
            if self._thumbnails is not None:
                self._thumbnails.forget(relay.room_id)
            self._links.unwatch(relay.room_id)
            if relay.room_id in self.originated and self.address:
                self._soon(self.release(relay.room_id))

    async def _tick_forever(self) -> None:
        next_beat = 0.0
        while True:
            await asyncio.sleep(TICK_S)
            now = time.monotonic()
            self._tick(now)
            beat = bool(self.address) and now >= next_beat
            try:
                if beat:
                    next_beat = now + HEARTBEAT_S
                    await self._owners.renew(self.originated, self.address)
                    await self._report_counts(set(self._reported) | set(self._counts_dirty))
                elif self._counts_dirty:
                    await self._report_counts(set(self._counts_dirty))
                await self._recordings.tick(self.relays.values())
            except Exception:
                log.exception("media heartbeat failed")

    def _tick(self, now: float) -> None:
        # Its own frame: a loop variable left in the long-lived ticker would keep the last
        # session it saw (its closed peer connection and everything under it) alive.
        thumbs = self._thumbnails
        for relay in list(self.relays.values()):
            relay.tick(now)
            if thumbs is not None and relay.publisher is not None and thumbs.due(relay.room_id):
                # The room's picture is due and no keyframe came: ask for one (throttled).
                relay.request_keyframe()
        timeout = self._settings.connect_timeout_s
        for session in list(self.sessions.values()):
            if not session.connected and now - session.created > timeout:
                self._close_soon(session, "timeout")

    async def _report_counts(self, room_ids: set[str], final: bool = False) -> None:
        """Write this process's viewer count of each room to Redis (0 removes it)."""
        self._counts_dirty -= room_ids
        for room_id in room_ids:
            relay = self.relays.get(room_id)
            count = 0 if final or relay is None else len(relay.viewers)
            await self._viewer_counts.report(room_id, self.node_id, self.pid, count)
            if count:
                self._reported[room_id] = count
            else:
                self._reported.pop(room_id, None)
        metrics.MEDIA_PROCESS_VIEWERS.set(sum(self._reported.values()))

    # --- the node registry (live.routing.presence calls these) ----------------------
    def describe(self) -> ProcessEntry:
        """This process as its heartbeat writes it: what it serves."""
        return ProcessEntry(
            self.node_id,
            self.pid,
            self.node_url,
            self.address,
            rooms=tuple(self.relays),
            origins=tuple(self.originated),
            viewers=sum(len(relay.viewers) for relay in self.relays.values()),
        )

    async def origin_lost(self, room_id: str) -> None:
        """The process that originated the room died: the room is not live until its host
        publishes again (on any node)."""
        log.warning("the room's origin died", extra={"room_id": room_id})
        await self._set_live(room_id, False)

    async def reassert_origins(self) -> None:
        """This process was counted out as dead (it stalled): take its rooms back where
        nobody else has, and say they are live again where its publisher still is."""
        for room_id in list(self.originated):
            owner = await self._owners.claim(room_id, self.address)
            relay = self.relays.get(room_id)
            publisher = relay.publisher if relay is not None else None
            if owner == self.address and publisher is not None and publisher.connected:
                await self._set_live(room_id, True)

    # --- ownership in Redis ------------------------------------------------------
    async def release(self, room_id: str) -> None:
        """Give up the room's claim once this process holds no media for it."""
        if room_id in self.relays:
            return
        self.originated.discard(room_id)
        await self._owners.release(room_id, self.address)
