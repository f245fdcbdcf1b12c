"""PURE: who may be moderated, who may speak under which name, and the role shown in chat."""

from __future__ import annotations

from live.auth import Identity, Role
from live.realtime.protocol import ChannelError
from live.text import name_key

# The admin's user id (live.auth.ADMIN_IDENTITY): every admin connection shares it, so it
# must never be muted or banned, or every admin would be.
ADMIN_USER_ID = "admin"


def chat_role(identity: Identity, room_id: str) -> str:
    """`admin`, `host` (this room's), or `viewer` (everyone else, hosts of other rooms too)."""
    if identity.role is Role.ADMIN:
        return "admin"
    if identity.role is Role.HOST and identity.room_id == room_id:
        return "host"
    return "viewer"


def check_target(actor: Identity, target_user_id: str) -> None:
    """Refuse muting or banning oneself or the admin (hosts are refused in moderate.lua,
    which knows the room's host and every staff id that chatted)."""
    if target_user_id == actor.user_id:
        raise ChannelError("forbidden", "you cannot mute or ban yourself")
    if target_user_id == ADMIN_USER_ID:
        raise ChannelError("forbidden", "hosts and admins cannot be muted or banned")


def name_reserved(identity: Identity, room_id: str, host_name: str) -> bool:
    """True when a viewer's name reads as the room's host's (case and NFKC folded)."""
    if chat_role(identity, room_id) != "viewer":
        return False
    return name_key(identity.name) == name_key(host_name)
