"""Frozen settings: `config/default.toml`, then `LIVE_CONFIG`, then `LIVE_<SECTION>_<KEY>`.

Settings are read once at start-up and handed down as one frozen object; nothing below
this module reads the environment.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from live.paths import data_dir

# The repository's root in a checkout (tests and load tests run from it).
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = data_dir("config") / "default.toml"
RESERVED_ENV = {"LIVE_REDIS_URL", "LIVE_ADMIN_TOKEN", "LIVE_CONFIG"}


class SettingsError(ValueError):
    """A setting is unknown or has the wrong type; the message names it."""


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    trusted_proxies: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    public_url: str = ""
    shutdown_grace_s: float = 10.0
    keep_alive_s: float = 75.0
    worker_healthcheck_s: float = 5.0
    max_body_bytes: int = 65536
    max_header_bytes: int = 16384
    embed_origins: tuple[str, ...] = ()
    metrics_networks: tuple[str, ...] = ("127.0.0.0/8", "::1/128")


@dataclass(frozen=True)
class RedisSettings:
    mode: str = "single"
    key_prefix: str = "live"
    embedded_dir: str = "var/redis"
    connect_timeout_s: float = 5.0
    command_timeout_s: float = 2.0
    max_connections: int = 256


@dataclass(frozen=True)
class AuthSettings:
    secret: str = ""
    previous_secrets: tuple[str, ...] = ()
    viewer_token_ttl_s: int = 604800
    host_token_ttl_s: int = 86400
    jwt_hs256_secret: str = ""
    jwt_rs256_public_key: str = ""
    jwt_issuer: str = ""
    jwt_audience: str = ""
    anonymous_can_buy: bool = True


@dataclass(frozen=True)
class RoomSettings:
    ended_retention_s: int = 604800
    idle_retention_s: int = 2592000
    max_title_len: int = 120
    max_lineup: int = 100


@dataclass(frozen=True)
class CatalogSettings:
    max_title_len: int = 200
    max_description_len: int = 4000
    currencies: tuple[str, ...] = ("CNY", "USD", "EUR", "GBP", "JPY", "HKD", "SGD")


@dataclass(frozen=True)
class ChatSettings:
    max_len: int = 300
    rate_count: int = 5
    rate_window_s: float = 10.0
    snapshot_len: int = 50
    word_filter: tuple[str, ...] = ()


@dataclass(frozen=True)
class RealtimeSettings:
    tick_ms: int = 50
    immediate_first: bool = False
    urgent_events: tuple[str, ...] = ("bid", "auction_open", "auction_ended")
    history_min_events: int = 1000
    history_min_age_s: int = 600
    send_buffer_bytes: int = 1048576
    max_frame_bytes: int = 4096
    inbound_rate: float = 20.0
    staff_inbound_rate: float = 500.0
    presence_heartbeat_s: float = 5.0
    ping_s: float = 20.0
    ping_timeout_s: float = 20.0
    direct_write: bool = True


@dataclass(frozen=True)
class CommerceSettings:
    durability: str = "everysec"
    min_replicas: int = 1
    replica_wait_ms: int = 500
    order_retention_s: int = 2592000
    sweep_interval_ms: int = 200
    log_claim_idle_ms: int = 30000
    max_stock: int = 1000000
    max_hold_s: int = 3600
    max_duration_s: int = 86400
    anonymous_limit_by_ip: bool = False
    # The shop (live/commerce/bag.py): how long a bag order is held, whether paying needs
    # a shipping address, and how long after payment a return may be asked for.
    bag_hold_s: int = 900
    bag_one_script: bool = True
    require_shipping: bool = False
    return_days: int = 14
    # Seconds a unit that came back is kept for the first buyer on a sale's waitlist.
    offer_s: int = 60
    # Seconds an auction's winner has to pay for the lot (the order's hold).
    auction_hold_s: int = 900


@dataclass(frozen=True)
class LimitSettings:
    exempt_networks: tuple[str, ...] = ()
    sessions_per_ip_per_min: int = 30
    buys_per_user_per_s: int = 5
    buys_per_ip_per_s: int = 50
    connections_per_ip: int = 50


@dataclass(frozen=True)
class MediaSettings:
    codec: str = "vp8"
    ice_servers: tuple[str, ...] = ()
    turn_username: str = ""
    turn_credential: str = ""
    turn_secret: str = ""
    turn_ttl_s: int = 86400
    worker_headers: bool = False
    udp_port_min: int = 0
    udp_port_max: int = 0
    public_ip: str = ""
    connect_timeout_s: float = 10.0
    max_sessions_per_ip: int = 50
    max_viewers_per_room: int = 1000
    allow_private_candidates: bool = True
    max_remote_candidates: int = 20
    # Replays (live/media/recorder.py, live/replay/): record while live, where, how long.
    record: bool = True
    recordings_dir: str = "var/recordings"
    replay_retention_days: int = 90
    # A live room's picture: one keyframe decoded at most this often, scaled to this width.
    thumbnail_s: float = 10.0
    thumbnail_width: int = 320
    origin_timeout_s: float = 10.0
    max_relay_children: int = 8


@dataclass(frozen=True)
class NodeSettings:
    # This node's name (`live serve` and all its workers); empty: the host name.
    id: str = ""
    # Where the other nodes (and clients) reach this node; empty: `live serve`'s own
    # http://<host>:<port>.
    advertise_url: str = ""
    # Proves nodes to each other and keys their encrypted relay links; empty: derived
    # from the token signing secret, which every node shares.
    secret: str = ""
    # The address this node's relay links bind to and the other nodes send to; the
    # UDP ports they take (0: any).
    relay_host: str = "127.0.0.1"
    relay_port_min: int = 0
    relay_port_max: int = 0


@dataclass(frozen=True)
class LoggingSettings:
    level: str = "info"
    format: str = "json"


@dataclass(frozen=True)
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    redis: RedisSettings = field(default_factory=RedisSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    rooms: RoomSettings = field(default_factory=RoomSettings)
    catalog: CatalogSettings = field(default_factory=CatalogSettings)
    chat: ChatSettings = field(default_factory=ChatSettings)
    realtime: RealtimeSettings = field(default_factory=RealtimeSettings)
    commerce: CommerceSettings = field(default_factory=CommerceSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    media: MediaSettings = field(default_factory=MediaSettings)
    node: NodeSettings = field(default_factory=NodeSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    # The reserved variables: None means "embedded Redis" and "no admin".
    redis_url: str | None = None
    admin_token: str | None = None
    # Set by `live serve` for its workers (not settings a user writes): the directory where
    # every worker writes its metrics, and the secret of the workers' private listeners.
    metrics_dir: str | None = None
    internal_secret: str | None = None

    def replace(self, **sections: Any) -> Settings:
        """A copy with whole sections or fields replaced (tests use this)."""
        return dataclasses.replace(self, **sections)


_PROCESS_FIELDS = ("redis_url", "admin_token", "metrics_dir", "internal_secret")
# The variables `live serve` sets for its workers (see `Settings.metrics_dir`).
METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
INTERNAL_SECRET_ENV = "_LIVE_MEDIA_INTERNAL_SECRET"

_SECTIONS: dict[str, type[Any]] = {
    f.name: typing.get_type_hints(Settings)[f.name]
    for f in dataclasses.fields(Settings)
    if f.name not in _PROCESS_FIELDS
}

_CHOICES: dict[tuple[str, str], frozenset[str]] = {
    ("redis", "mode"): frozenset({"single", "cluster"}),
    ("commerce", "durability"): frozenset({"everysec", "always", "replicated"}),
    ("media", "codec"): frozenset({"vp8", "h264"}),
    ("logging", "level"): frozenset({"debug", "info", "warning", "error"}),
    ("logging", "format"): frozenset({"json", "text"}),
}


# `WAIT n 0` would block forever; `WAIT 0` would wait for nothing.
_MINIMUMS: dict[tuple[str, str], int] = {
    ("commerce", "min_replicas"): 1,
    ("commerce", "replica_wait_ms"): 1,
    ("media", "replay_retention_days"): 1,
    ("media", "max_relay_children"): 1,
}


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read the defaults, the `LIVE_CONFIG` file and `LIVE_*` variables into `Settings`."""
    env = os.environ if env is None else env
    raw: dict[str, dict[str, Any]] = {name: {} for name in _SECTIONS}
    _merge(raw, _read_toml(DEFAULT_CONFIG), str(DEFAULT_CONFIG))
    if env.get("LIVE_CONFIG"):
        path = Path(env["LIVE_CONFIG"])
        _merge(raw, _read_toml(path), str(path))
    _merge_env(raw, env)
    sections = {name: _build_section(name, values) for name, values in raw.items()}
    return Settings(
        **sections,
        redis_url=env.get("LIVE_REDIS_URL") or None,
        admin_token=env.get("LIVE_ADMIN_TOKEN") or None,
        metrics_dir=env.get(METRICS_DIR_ENV) or None,
        internal_secret=env.get(INTERNAL_SECRET_ENV) or None,
    )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except FileNotFoundError as exc:
        raise SettingsError(f"config file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config file {path} is not valid TOML: {exc}") from exc


def _merge(raw: dict[str, dict[str, Any]], data: dict[str, Any], origin: str) -> None:
    for section, values in data.items():
        if section not in _SECTIONS:
            raise SettingsError(f"unknown settings section [{section}] in {origin}")
        if not isinstance(values, dict):
            raise SettingsError(f"[{section}] in {origin} must be a table")
        known = {f.name for f in dataclasses.fields(_SECTIONS[section])}
        for key, value in values.items():
            if key not in known:
                raise SettingsError(f"unknown setting {section}.{key} in {origin}")
            raw[section][key] = value


def _merge_env(raw: dict[str, dict[str, Any]], env: Mapping[str, str]) -> None:
    for name, text in env.items():
        if not name.startswith("LIVE_") or name in RESERVED_ENV:
            continue
        section, key = _split_env_name(name)
        hint = typing.get_type_hints(_SECTIONS[section])[key]
        raw[section][key] = _parse_env_value(f"{section}.{key}", hint, text, name)


def _split_env_name(name: str) -> tuple[str, str]:
    rest = name[len("LIVE_") :].lower()
    for section in sorted(_SECTIONS, key=len, reverse=True):
        if rest.startswith(section + "_"):
            key = rest[len(section) + 1 :]
            if key in {f.name for f in dataclasses.fields(_SECTIONS[section])}:
                return section, key
            raise SettingsError(f"unknown setting {section}.{key} (from {name})")
    raise SettingsError(f"unknown setting {name}: no such section")


def _parse_env_value(key: str, hint: Any, text: str, origin: str) -> Any:
    try:
        if hint is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        if hint is int:
            return int(text)
        if hint is float:
            return float(text)
        if typing.get_origin(hint) is tuple:
            return [item.strip() for item in text.split(",") if item.strip()]
        return text
    except ValueError as exc:
        raise SettingsError(f"setting {key} from {origin}: {text!r} is not a valid value") from exc


def _build_section(section: str, values: dict[str, Any]) -> Any:
    cls = _SECTIONS[section]
    hints = typing.get_type_hints(cls)
    checked = {
        key: _check_type(f"{section}.{key}", hints[key], value) for key, value in values.items()
    }
    for key, value in checked.items():
        allowed = _CHOICES.get((section, key))
        if allowed is not None and value not in allowed:
            raise SettingsError(f"setting {section}.{key} must be one of {sorted(allowed)}")
        least = _MINIMUMS.get((section, key))
        if least is not None and value < least:
            raise SettingsError(f"setting {section}.{key} must be at least {least}")
    return cls(**checked)


def _check_type(key: str, hint: Any, value: Any) -> Any:
    if typing.get_origin(hint) is tuple:
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise SettingsError(f"setting {key} must be a list of strings, got {value!r}")
        return tuple(value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    expected = hint if isinstance(hint, type) else None
    if isinstance(hint, types.UnionType) or expected is None:
        return value
    if isinstance(value, bool) and expected is not bool:
        raise SettingsError(f"setting {key} must be {expected.__name__}, got {value!r}")
    if not isinstance(value, expected):
        raise SettingsError(f"setting {key} must be {expected.__name__}, got {value!r}")
    return value
