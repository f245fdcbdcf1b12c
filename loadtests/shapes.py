"""Load shapes of the scenarios, sized from locust's -u, -r and -t (`use_common_options`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from locust import LoadTestShape

from loadtests.timeline import (
    Stage,
    flash_stages,
    run_length,
    show_stages,
    stage_at,
    viewers_stages,
)


class ScenarioShape(LoadTestShape):
    """Follows the stages a pure timeline function draws from -u, -r and -t."""

    abstract = True
    use_common_options = True
    stages_of: Callable[[int, float, float], list[Stage]] = staticmethod(viewers_stages)

    def tick(self) -> tuple[int, float] | None:
        assert self.runner is not None
        options: Any = self.runner.environment.parsed_options
        users = max(1, int(options.num_users or 1))
        rate = float(options.spawn_rate or 1)
        stages = type(self).stages_of(users, rate, run_length(options.run_time))
        stage = stage_at(stages, self.get_run_time())  # type: ignore[no-untyped-call]
        return None if stage is None else (stage.users, stage.rate)


class JoinStormShape(ScenarioShape):
    """A join storm, a steady crowd, a third leaving and rejoining."""

    stages_of = staticmethod(viewers_stages)


class FlashSaleShape(ScenarioShape):
    """The crowd gathers and waits through the sale; half of it leaves after the rush."""

    stages_of = staticmethod(flash_stages)


class ShowShape(ScenarioShape):
    """Early viewers, a spike when the flash sale is announced, a taper after it."""

    stages_of = staticmethod(show_stages)
