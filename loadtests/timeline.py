"""PURE: when each scenario's load rises and falls, and what its host does when.

Everything is derived from locust's `-u`, `-r` and `-t`, so a load tester sizes a run from
the command line; a run without `-t` lasts `DEFAULT_RUN_S`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

DEFAULT_RUN_S = 600.0
BUY_WINDOW_S = 1.5  # a crowd buys within this long after a sale opens
HOLD_S = 300  # holds outlive short runs, so the checks see no expiry in flight


@dataclass(frozen=True)
class Stage:
    """Until `until_s` into the run, hold `users` users, spawning `rate` per second."""

    until_s: float
    users: int
    rate: float


@dataclass(frozen=True)
class HostAction:
    """Something the host does `at_s` into the run (pin, unpin, chat, sale, close)."""

    at_s: float
    kind: str
    args: dict[str, Any] = field(default_factory=dict)

    def to_data(self) -> dict[str, Any]:
        return {"at_s": self.at_s, "kind": self.kind, "args": self.args}


def stage_at(stages: list[Stage], run_time_s: float) -> Stage | None:
    """The stage in force at `run_time_s`; None once the last has ended."""
    return next((s for s in stages if run_time_s < s.until_s), None)


def run_length(run_s: float | None) -> float:
    return float(run_s) if run_s else DEFAULT_RUN_S


def ramp_s(users: int, rate: float) -> float:
    return users / rate if rate > 0 else 0.0


def flash_open_s(users: int, rate: float, run_s: float) -> float:
    """The crowd is in a second after the ramp; a short run opens sooner, at 35%."""
    return round(min(ramp_s(users, rate) + 1.0, 0.35 * run_s), 3)


def sale_args(
    sku: str, stock: int, per_buyer_limit: int, duration_s: float, price_cents: int
) -> dict[str, Any]:
    return {
        "sku": sku,
        "stock": max(1, stock),
        "price_cents": price_cents,
        "per_buyer_limit": per_buyer_limit,
        "hold_s": HOLD_S,
        "duration_s": max(5, math.ceil(duration_s)),
    }


def viewers_stages(users: int, rate: float, run_s: float) -> list[Stage]:
    """A join storm, a steady crowd, a third leaving, and a second storm rejoining."""
    leave = max(1, users - users // 3)
    return [
        Stage(0.6 * run_s, users, rate),
        Stage(0.75 * run_s, leave, rate),
        Stage(run_s, users, rate),
    ]


def flash_stages(users: int, rate: float, run_s: float) -> list[Stage]:
    """The crowd gathers and waits; after the rush half of it drifts away."""
    after = flash_open_s(users, rate, run_s) + BUY_WINDOW_S + 10.0
    if after >= run_s:
        return [Stage(run_s, users, rate)]
    return [Stage(after, users, rate), Stage(run_s, max(2, users // 2), rate)]


def show_stages(users: int, rate: float, run_s: float) -> list[Stage]:
    """Early viewers, a spike when the flash sale is announced, a taper after it."""
    flash = show_flash_s(users, rate, run_s)
    early = max(2, math.ceil(0.6 * users))
    spike_rate = max(rate, float(users))
    stages = [
        Stage(max(0.0, flash - 1.0), early, rate),
        Stage(flash + BUY_WINDOW_S + 10, users, spike_rate),
    ]
    if stages[-1].until_s < run_s:
        stages.append(Stage(run_s, max(2, users // 2), rate))
    return [Stage(min(s.until_s, run_s), s.users, s.rate) for s in stages if s.until_s > 0]


def show_flash_s(users: int, rate: float, run_s: float) -> float:
    return round(max(flash_open_s(users, rate, run_s), 0.4 * run_s), 3)


def _every(start_s: float, step_s: float, end_s: float) -> list[float]:
    """`start_s`, then every `step_s`, before `end_s`."""
    count = math.ceil((end_s - start_s) / step_s) if end_s > start_s else 0
    return [round(start_s + i * step_s, 3) for i in range(count)]


def _talk(start_s: float, step_s: float, end_s: float) -> list[HostAction]:
    return [
        HostAction(at, "chat", {"text": f"Welcome! Deal #{n} is coming up"})
        for n, at in enumerate(_every(start_s, step_s, end_s), 1)
    ]


def _pins(skus: list[str], start_s: float, step_s: float, end_s: float) -> list[HostAction]:
    return [
        HostAction(at, "pin", {"sku": skus[n % len(skus)]})
        for n, at in enumerate(_every(start_s, step_s, end_s))
    ]


def flash_actions(
    skus: list[str], users: int, rate: float, run_s: float, price_cents: int
) -> list[HostAction]:
    """Pin the product, announce, open one big sale for about half the crowd."""
    open_s = flash_open_s(users, rate, run_s)
    sale = sale_args(skus[0], max(3, users // 2), 2, max(30.0, run_s), price_cents)
    actions = [
        HostAction(0.0, "pin", {"sku": skus[0]}),
        HostAction(max(0.0, open_s - 0.5), "chat", {"text": "Flash sale in a moment!"}),
        HostAction(open_s, "sale", sale),
        *_talk(open_s + 2.0, 3.0, run_s),
    ]
    return sorted(actions, key=lambda a: a.at_s)


def host_actions(skus: list[str], users: int, run_s: float, price_cents: int) -> list[HostAction]:
    """Pins every 4 s, chat every 2 s, a small sale every 15 s that the host closes."""
    actions = [*_pins(skus, 0.0, 4.0, run_s), *_talk(0.5, 2.0, run_s)]
    duration = max(5.0, min(10.0, 0.5 * run_s))
    for n, at in enumerate(_every(min(1.0, 0.2 * run_s), 15.0, run_s)):
        sku = skus[n % len(skus)]
        actions.append(
            HostAction(at, "sale", sale_args(sku, max(2, users // 3), 1, 60, price_cents))
        )
        if at + duration < run_s:
            actions.append(HostAction(at + duration, "close", {"sale": n}))
    return sorted(actions, key=lambda a: a.at_s)


def show_actions(
    skus: list[str], users: int, rate: float, run_s: float, price_cents: int
) -> list[HostAction]:
    """A whole show: pins and chat throughout, small sales, and one flash sale mid-show."""
    flash = show_flash_s(users, rate, run_s)
    actions = [*_pins(skus, 0.0, 4.0, run_s), *_talk(0.5, 3.0, run_s)]
    actions.append(
        HostAction(
            round(0.1 * run_s, 3),
            "sale",
            sale_args(skus[-1], max(2, users // 4), 1, 60, price_cents),
        )
    )
    actions.append(
        HostAction(
            flash, "sale", sale_args(skus[0], max(3, users // 2), 2, max(30.0, run_s), price_cents)
        )
    )
    for at in _every(flash + 30.0, 30.0, 0.9 * run_s):
        actions.append(
            HostAction(
                at, "sale", sale_args(skus[1 % len(skus)], max(2, users // 4), 1, 20, price_cents)
            )
        )
    return sorted(actions, key=lambda a: a.at_s)
