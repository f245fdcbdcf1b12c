"""A host at work: pins, chat and small sales on a schedule, in front of a watching crowd.

locust -f loadtests/host.py --host http://127.0.0.1:8000 -u 200 -r 50 -t 2m --headless
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from loadtests.common import use_scenario
from loadtests.shapes import JoinStormShape
from loadtests.timeline import host_actions
from loadtests.users import Host, Viewer

use_scenario(
    "host",
    lambda setup, users, rate, run_s: host_actions(setup.skus, users, run_s, setup.price_cents),
)

__all__ = ["Host", "JoinStormShape", "Viewer"]
