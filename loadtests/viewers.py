"""Viewers: a join storm, then a crowd that chats and likes at a viewer's pace.

locust -f loadtests/viewers.py --host http://127.0.0.1:8000 -u 500 -r 100 -t 2m --headless
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from loadtests.common import use_scenario
from loadtests.shapes import JoinStormShape
from loadtests.users import Viewer

use_scenario("viewers")

__all__ = ["JoinStormShape", "Viewer"]
