"""A host at work: pins, chat and small sales on a schedule, in front of a watching crowd.

locust -f loadtests/host.py --host http://127.0.0.1:8000 -u 200 -r 50 -t 2m --headless
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from loadtests.common import use_scenario  # noqa: E402
from loadtests.shapes import JoinStormShape  # noqa: E402
from loadtests.timeline import host_actions  # noqa: E402
from loadtests.users import Host, Viewer  # noqa: E402

use_scenario(
    "host",
    lambda setup, users, rate, run_s: host_actions(setup.skus, users, run_s, setup.price_cents),
)

__all__ = ["Host", "JoinStormShape", "Viewer"]
