"""A flash sale: a crowd waits in the room, the host opens a sale, everyone buys at once.

    locust -f loadtests/flash_sale.py --host http://127.0.0.1:8000 -u 1000 -r 200 -t 1m --headless

Some buyers retry with the same Idempotency-Key, most pay, a few cancel or try again.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from loadtests.common import use_scenario
from loadtests.shapes import FlashSaleShape
from loadtests.timeline import flash_actions
from loadtests.users import Host, Viewer

use_scenario(
    "flash_sale",
    lambda setup, users, rate, run_s: flash_actions(
        setup.skus, users, rate, run_s, setup.price_cents
    ),
)

__all__ = ["FlashSaleShape", "Host", "Viewer"]
