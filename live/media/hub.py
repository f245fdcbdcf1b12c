"""The media of the rooms held by this process: signalling, live state, clean-up.

A room's media lives in one process (an aiortc peer cannot move); the process that holds a
room is recorded in Redis (`{r:<room>}:media_owner`, renewed by this hub's heartbeat), and
requests landing elsewhere are forwarded to it over loopback (see `live.routing`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time

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
from live.media.relay import MediaSession, RoomRelay
from live.media.sdp import VIDEO_CODECS, check_offer, rewrite_host_candidates
from live.rooms.events import RoomEvents
from live.rooms.store import RoomStore
from live.routing.owners import MediaOwners
from live.settings import MediaSettings

log = logging.getLogger("live.media")

TICK_S = 0.25
HEARTBEAT_S = 5.0


def codec_preferences(kind: str, codec: str) -> list[RTCRtpCodecCapability]:
    wanted = (
        {f"video/{VIDEO_CODECS[codec]}".lower(), "video/rtx"} if kind == "video" else {"audio/opus"}
    )
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
    ) -> None:
        self._settings = settings
        self._rooms = rooms
        self._events = events
        self._owners = owners
        self._clock = clock
        # This process's private listener, where siblings forward to (set by `start`).
        self.address = ""
        self.codec = settings.codec
        self.relays: dict[str, RoomRelay] = {}
        self.sessions: dict[str, MediaSession] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self._ticker: asyncio.Task[None] | None = None

    # --- lifecycle ------------------------------------------------------------
    def start(self, address: str) -> None:
        self.address = address
        self._ticker = asyncio.create_task(self._tick_forever())

    async def aclose(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
        for session in list(self.sessions.values()):
            await self.close_session(session, "shutdown")
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)

    # --- signalling -------------------------------------------------------------
    async def publish(self, room_id: str, offer: str, room_live: bool = False) -> tuple[str, str]:
        """WHIP: a new publishing session (replacing the previous one); (id, answer)."""
        kinds = check_offer(offer, self.codec)
        await self._forget_stale_live(room_id, room_live)
        session = self._new_session(room_id, "publisher")
        for kind in kinds:
            transceiver = session.pc.addTransceiver(kind, direction="recvonly")
            transceiver.setCodecPreferences(codec_preferences(kind, self.codec))
        answer = await self._answer(session, offer)
        for transceiver in session.pc.getTransceivers():
            if transceiver.kind not in session.receivers:
                session.receivers[transceiver.kind] = transceiver.receiver
        relay = self._relay(room_id)
        relay.tap(session)
        self._register(session)
        previous = relay.set_publisher(session)
        if previous is not None:
            log.info("publisher replaced", extra={"room_id": room_id})
            self._close_soon(previous, "replaced")
        return session.session_id, answer

    async def play(self, room_id: str, offer: str, room_live: bool = False) -> tuple[str, str]:
        """WHEP: a new viewing session; frames flow once the room has a publisher."""
        kinds = check_offer(offer, self.codec)
        await self._forget_stale_live(room_id, room_live)
        session = self._new_session(room_id, "viewer")
        relay = self._relay(room_id)
        relay.add_viewer(session, kinds)
        try:
            for kind, sender in session.senders.items():
                transceiver = session.pc.addTransceiver(sender.track, direction="sendonly")
                transceiver.setCodecPreferences(codec_preferences(kind, self.codec))
                relay.on_viewer_sender(transceiver.sender, sender)
            answer = await self._answer(session, offer)
        except BaseException:
            relay.viewers.pop(session.session_id, None)
            self._drop_relay_if_empty(relay)
            raise
        self._register(session)
        return session.session_id, answer

    async def end(self, room_id: str, role: str, session_id: str) -> None:
        """DELETE on a session's Location."""
        session = self.sessions.get(session_id)
        if session is None or session.room_id != room_id or session.role != role:
            raise NotFound("no such media session")
        await self.close_session(session, "deleted")

    async def end_room(self, room_id: str) -> None:
        """The room ended: every session of it goes."""
        for session in [s for s in self.sessions.values() if s.room_id == room_id]:
            await self.close_session(session, "room ended")

    async def _forget_stale_live(self, room_id: str, room_live: bool) -> None:
        # The room says live but this process, now its owner, holds no media for it: the
        # process that held the publisher died. The room is not live until a new publish.
        if room_live and room_id not in self.relays:
            await self._set_live(room_id, False)

    def _new_session(self, room_id: str, role: str) -> MediaSession:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        prefix = "p" if role == "publisher" else "v"
        return MediaSession(prefix + secrets.token_hex(8), room_id, role, pc)

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
        return relay

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
        except Exception:
            # Redis trouble must not tear down the media; the flag heals on the next change.
            log.exception("could not record the room's live state", extra={"room_id": room_id})

    def _close_soon(self, session: MediaSession, reason: str) -> None:
        task = asyncio.ensure_future(self.close_session(session, reason))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def close_session(self, session: MediaSession, reason: str) -> None:
        """Close one session (idempotent); the room goes not-live if its publisher left."""
        if session.closed:
            return
        session.closed = True
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
            relay.viewers.pop(session.session_id, None)
            if relay.publisher is session:
                relay.publisher = None
                went_dark = True
        await session.pc.close()
        if went_dark:
            await self._set_live(session.room_id, False)
        if relay is not None:
            self._drop_relay_if_empty(relay)

    def _drop_relay_if_empty(self, relay: RoomRelay) -> None:
        if relay.empty and self.relays.get(relay.room_id) is relay:
            del self.relays[relay.room_id]
            if self.address:
                task = asyncio.ensure_future(self.release(relay.room_id))
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)

    async def _tick_forever(self) -> None:
        timeout = self._settings.connect_timeout_s
        next_beat = 0.0
        while True:
            await asyncio.sleep(TICK_S)
            now = time.monotonic()
            for relay in list(self.relays.values()):
                relay.tick(now)
            for session in list(self.sessions.values()):
                if not session.connected and now - session.created > timeout:
                    self._close_soon(session, "timeout")
            if self.address and now >= next_beat:
                next_beat = now + HEARTBEAT_S
                try:
                    await self._owners.renew(self.relays, self.address)
                except Exception:
                    log.exception("media heartbeat failed")

    # --- ownership in Redis ------------------------------------------------------
    async def release(self, room_id: str) -> None:
        """Give up the room's claim once this process holds no media for it."""
        if room_id in self.relays:
            return
        await self._owners.release(room_id, self.address)
