"""Locust glue shared by every scenario: options, set-up, the ledger and the verdict.

The master (or the only process) sets the run up in `test_start` and sends the room to the
workers; workers drain their ledgers into their stats reports; the master checks every
invariant when locust quits and sets the exit code.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import gevent.event
from locust import events
from locust.exception import StopUser
from locust.runners import STATE_RUNNING, STATE_SPAWNING, WorkerRunner

from loadtests.api import Api, RoomSetup, set_up_room
from loadtests.channel import SourceAddresses
from loadtests.check import server_evidence, settled_verdict
from loadtests.invariants import Evidence, RequestCounts, Violation, render_report
from loadtests.ledger import RunLedger
from loadtests.timeline import HostAction, run_length

log = logging.getLogger("live.load")

Planner = Callable[[RoomSetup, int, float, float], list[HostAction]]
SHOW_WAIT_S = 60.0


@dataclass
class Show:
    """The run's room and the host's schedule, as every user (on every worker) sees it."""

    room_id: str
    host_token: str
    skus: list[str]
    price_cents: int
    t0_ms: int  # wall clock at set-up; the host's actions are timed from it
    actions: list[dict[str, Any]]


class RunState:
    """This process's view of the run."""

    def __init__(self) -> None:
        self.scenario = ""
        self.planner: Planner = lambda setup, users, rate, run_s: []
        self.show: Show | None = None
        self.ready = gevent.event.Event()
        self.ledger = RunLedger()
        self.rooms: list[str] = []
        self.sources = SourceAddresses([])
        self.setup_error: str | None = None


STATE = RunState()


def use_scenario(name: str, planner: Planner | None = None) -> None:
    """Name the scenario a locustfile runs and how its host's schedule is planned."""
    STATE.scenario = name
    if planner is not None:
        STATE.planner = planner


def wait_for_show() -> Show:
    """The run's room, once set up (and sent to this worker); stops the user otherwise."""
    if not STATE.ready.wait(SHOW_WAIT_S) or STATE.show is None:
        raise StopUser()
    return STATE.show


def admin_token() -> str:
    token = os.environ.get("LIVE_ADMIN_TOKEN", "").strip()
    if not token:
        raise RuntimeError("set LIVE_ADMIN_TOKEN to the deployment's admin token")
    return token


def _add_options(parser: Any, **_: Any) -> None:
    parser.add_argument(
        "--max-error-ratio",
        type=float,
        default=0.0,
        include_in_web_ui=True,
        help="share of requests allowed to fail with unexpected answers (default 0)",
    )
    parser.add_argument(
        "--source-addresses",
        default="",
        include_in_web_ui=False,
        help="comma-separated local addresses websockets connect from, e.g. 127.0.0.2,127.0.0.3",
    )


def _on_init(environment: Any, **_: Any) -> None:
    runner = environment.runner
    if runner is not None and not _is_master(environment):
        runner.register_message("live_show", _receive_show)
    options = environment.parsed_options
    addresses = getattr(options, "source_addresses", "") if options else ""
    STATE.sources = SourceAddresses([a.strip() for a in addresses.split(",") if a.strip()])


def _is_master(environment: Any) -> bool:
    return type(environment.runner).__name__ == "MasterRunner"


def _receive_show(environment: Any, msg: Any, **_: Any) -> None:
    STATE.show = Show(**msg.data)
    STATE.ready.set()


def _set_up(environment: Any, **_: Any) -> None:
    if isinstance(environment.runner, WorkerRunner):
        return
    STATE.ready.clear()
    options = environment.parsed_options
    users = max(1, int(getattr(options, "num_users", 1) or 1))
    rate = float(getattr(options, "spawn_rate", 1) or 1)
    run_s = run_length(getattr(options, "run_time", None))
    try:
        admin = Api(environment.host, admin_token())
        run_id = uuid.uuid4().hex[:10]
        setup = set_up_room(admin, run_id, f"Load test {STATE.scenario} {run_id}")
    except Exception as exc:
        STATE.setup_error = f"set-up failed: {exc}"
        log.error("live load test %s", STATE.setup_error)
        environment.process_exit_code = 1
        gevent.spawn(environment.runner.quit)
        return
    actions = [a.to_data() for a in STATE.planner(setup, users, rate, run_s)]
    show = Show(
        setup.room_id,
        setup.host_token,
        setup.skus,
        setup.price_cents,
        int(time.time() * 1000),
        actions,
    )
    STATE.rooms.append(setup.room_id)
    log.info(
        "live load test %s: room %s, %d host actions", STATE.scenario, setup.room_id, len(actions)
    )
    print(f"live-load: room {setup.room_id}", flush=True)
    STATE.show = show
    STATE.ready.set()
    if _is_master(environment):
        environment.runner.send_message("live_show", asdict(show))


def _drain_ledger(client_id: str, data: dict[str, Any], **_: Any) -> None:
    data["live_ledger"] = STATE.ledger.drain()


def _merge_ledger(client_id: str, data: dict[str, Any], **_: Any) -> None:
    if "live_ledger" in data:
        STATE.ledger.merge(data["live_ledger"])


def request_counts(stats: Any) -> RequestCounts:
    errors = {f"{e.method} {e.name}: {e.error}": e.occurrences for e in stats.errors.values()}
    return RequestCounts(stats.total.num_requests, stats.total.num_failures, errors)


def client_evidence(
    environment: Any, sales: list[dict[str, Any]], orders: list[dict[str, Any]]
) -> Evidence:
    """The server's sales and orders, with what this run's clients saw and counted."""
    options = environment.parsed_options
    return Evidence(
        sales=sales,
        orders=orders,
        keys=STATE.ledger.key_records(),
        channel={k: v for k, v in STATE.ledger.channel.items() if v},
        requests=request_counts(environment.runner.stats),
        max_error_ratio=float(getattr(options, "max_error_ratio", 0.0) or 0.0),
    )


def _verdict(environment: Any, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        return
    if STATE.setup_error:
        print(f"=== live load test verdict ({STATE.scenario}) ===\nFAIL: {STATE.setup_error}")
        environment.process_exit_code = 1
        return
    if not STATE.rooms:
        return
    if runner.state in (STATE_RUNNING, STATE_SPAWNING):
        runner.quit()  # stop the users (and collect the workers' last reports) before checking
    admin = Api(environment.host, admin_token())

    def collect() -> Evidence:
        sales: list[dict[str, Any]] = []
        orders: list[dict[str, Any]] = []
        if STATE.ledger.sales or STATE.ledger.keys:  # a run with no sale has no orders to read
            sales, orders = server_evidence(admin, STATE.rooms, STATE.ledger.sales)
        return client_evidence(environment, sales, orders)

    try:
        evidence, violations = settled_verdict(collect)
    except Exception as exc:
        evidence = client_evidence(environment, [], [])
        violations = [Violation("check_failed", f"could not read the server's state: {exc}")]
    if runner.exceptions:
        count = sum(e["count"] for e in runner.exceptions.values())
        violations.append(Violation("user_errors", f"{count} exceptions in the scenario's users"))
    print(f"rooms: {', '.join(STATE.rooms)}")
    print(render_report(evidence, violations, STATE.scenario), flush=True)
    environment.process_exit_code = 1 if violations else 0


# Registered once per process, whichever scenario imports this module.
hooks: Any = events  # locust's EventHook.add_listener is untyped
hooks.init_command_line_parser.add_listener(_add_options)
hooks.init.add_listener(_on_init)
hooks.test_start.add_listener(_set_up)
hooks.report_to_master.add_listener(_drain_ledger)
hooks.worker_report.add_listener(_merge_ledger)
hooks.quitting.add_listener(_verdict)
