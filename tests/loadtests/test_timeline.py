"""Scenario timelines: sized from -u/-r/-t, with the host's schedule inside the run."""

from __future__ import annotations

from loadtests.timeline import (
    DEFAULT_RUN_S,
    Stage,
    flash_actions,
    flash_open_s,
    flash_stages,
    host_actions,
    run_length,
    show_actions,
    show_stages,
    stage_at,
    viewers_stages,
)

SKUS = ["a", "b", "c"]


def test_a_stage_holds_until_its_end_and_the_run_stops_after_the_last() -> None:
    stages = [Stage(10, 100, 10), Stage(20, 50, 5)]
    assert stage_at(stages, 0) == stages[0]
    assert stage_at(stages, 10) == stages[1]
    assert stage_at(stages, 20) is None


def test_without_a_run_time_the_default_length_applies() -> None:
    assert run_length(None) == DEFAULT_RUN_S
    assert run_length(0) == DEFAULT_RUN_S
    assert run_length(90) == 90.0


def test_viewers_storm_in_some_leave_and_rejoin() -> None:
    stages = viewers_stages(300, 50, 100)
    assert [s.users for s in stages] == [300, 200, 300]
    assert stages[-1].until_s == 100


def test_the_flash_sale_opens_once_the_crowd_is_in() -> None:
    assert flash_open_s(1000, 100, 600) == 11.0  # ten seconds of ramp, then a second
    assert flash_open_s(20, 20, 5) == 1.75  # a short run opens at 35% of it


def test_the_flash_crowd_thins_after_the_rush_only_in_long_runs() -> None:
    assert flash_stages(20, 20, 5) == [Stage(5, 20, 20)]
    long = flash_stages(1000, 100, 120)
    assert [s.users for s in long] == [1000, 500]
    assert long[0].until_s > flash_open_s(1000, 100, 120)


def test_the_flash_host_opens_one_sale_for_about_half_the_crowd() -> None:
    actions = flash_actions(SKUS, 20, 20, 5, 9900)
    sales = [a for a in actions if a.kind == "sale"]
    assert len(sales) == 1
    assert sales[0].at_s == 1.75
    assert sales[0].args["stock"] == 10 and sales[0].args["per_buyer_limit"] == 2
    assert sales[0].args["hold_s"] > 5  # holds outlive the run: nothing expires mid-check
    assert [a.at_s for a in actions] == sorted(a.at_s for a in actions)
    assert all(a.at_s < 5 for a in actions)


def test_the_host_pins_chats_sells_and_closes_on_a_schedule() -> None:
    actions = host_actions(SKUS, 30, 40, 9900)
    kinds = [a.kind for a in actions]
    assert kinds.count("pin") == 10 and kinds.count("sale") == 3
    assert {a.args["sku"] for a in actions if a.kind == "pin"} == set(SKUS)
    closes = [a for a in actions if a.kind == "close"]
    assert [c.args["sale"] for c in closes] == [0, 1]
    assert all(a.at_s < 40 for a in actions)


def test_a_short_host_run_still_opens_a_sale() -> None:
    assert [a.kind for a in host_actions(SKUS, 20, 5, 9900)].count("sale") == 1


def test_a_show_has_small_sales_and_one_flash_sale_at_its_spike() -> None:
    actions = show_actions(SKUS, 1000, 100, 300, 9900)
    sales = [a for a in actions if a.kind == "sale"]
    flash = max(sales, key=lambda a: a.args["stock"])
    assert flash.at_s == 120.0 and flash.args["stock"] == 500
    assert len(sales) >= 3
    stages = show_stages(1000, 100, 300)
    spike = stage_at(stages, flash.at_s)
    assert spike is not None and spike.users == 1000
    assert stage_at(stages, 0) == Stage(119.0, 600, 100)
    assert stages[-1].until_s == 300


def test_a_short_show_fits_its_sales_and_spike_in_the_run() -> None:
    actions = show_actions(SKUS, 20, 20, 5, 9900)
    assert [a.at_s for a in actions if a.kind == "sale"] == [0.5, 2.0]
    stages = show_stages(20, 20, 5)
    assert stages[-1].until_s == 5 and max(s.users for s in stages) == 20
