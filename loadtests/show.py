"""A whole show: viewers arrive, the host pins, chats and sells, a flash sale spikes it.

locust -f loadtests/show.py --host http://127.0.0.1:8000 -u 1000 -r 100 -t 5m --headless
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from loadtests.common import use_scenario
from loadtests.shapes import ShowShape
from loadtests.timeline import show_actions
from loadtests.users import Host, Viewer

use_scenario(
    "show",
    lambda setup, users, rate, run_s: show_actions(
        setup.skus, users, rate, run_s, setup.price_cents
    ),
)

__all__ = ["Host", "ShowShape", "Viewer"]
