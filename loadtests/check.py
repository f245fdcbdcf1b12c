"""Check the server-side invariants of a room after (or during) a load test.

    python -m loadtests.check --host http://127.0.0.1:8000 --room r_... [--room ...]

Reads the admin token from LIVE_ADMIN_TOKEN; exits 1 when an invariant is broken.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterable
from typing import Any

from loadtests.api import Api, get_sale, room_orders
from loadtests.invariants import Evidence, Violation, check_run, render_report


def server_evidence(
    admin: Api, rooms: Iterable[str], sale_ids: Iterable[str] = ()
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rooms' orders and every sale they (or `sale_ids`) name."""
    orders = [o for room_id in rooms for o in room_orders(admin, room_id)]
    wanted = sorted({*sale_ids, *(str(o["sale_id"]) for o in orders)})
    return [get_sale(admin, sale_id) for sale_id in wanted], orders


def settled_verdict(
    collect: Any, attempts: int = 3, pause_s: float = 1.0
) -> tuple[Evidence, list[Violation]]:
    """Check, and re-read a few times while broken: a hold expiring mid-read is not a bug."""
    for attempt in range(attempts):
        evidence: Evidence = collect()
        violations = check_run(evidence)
        if not violations or attempt == attempts - 1:
            return evidence, violations
        time.sleep(pause_s)
    raise AssertionError("unreachable")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loadtests.check", description=__doc__)
    parser.add_argument("--host", required=True, help="base URL of the deployment")
    parser.add_argument("--room", action="append", required=True, help="room id (repeatable)")
    parser.add_argument("--sale", action="append", default=[], help="extra sale id to check")
    args = parser.parse_args(argv)
    token = os.environ.get("LIVE_ADMIN_TOKEN")
    if not token:
        parser.error("set LIVE_ADMIN_TOKEN to the deployment's admin token")
    admin = Api(args.host, token)

    def collect() -> Evidence:
        sales, orders = server_evidence(admin, args.room, args.sale)
        return Evidence(sales=sales, orders=orders)

    evidence, violations = settled_verdict(collect)
    print(render_report(evidence, violations, "server state"))
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
