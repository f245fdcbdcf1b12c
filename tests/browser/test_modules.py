"""The pages' pure modules (formatting, event ordering), run in the browser they ship to."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import OpenPage
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


async def run(open_page: OpenPage, base: str, module: str, body: str) -> Any:
    page = await open_page(base + "/")
    return await page.evaluate(
        f"async () => {{ const m = await import('/static/js/{module}'); {body} }}"
    )


async def test_money_countdowns_and_counts_read_naturally(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    got = await run(
        open_page,
        live_server.base_url,
        "format.js",
        """return {
          cny: m.money(32900, "CNY"), usd: m.money(1999, "USD"),
          short: m.clockText(272000), long: m.clockText(3723000), past: m.clockText(-5000),
          one: m.watching(1), many: m.watching(1200),
          left: [m.unitsLeft(12), m.unitsLeft(1), m.unitsLeft(0)],
          pct: [m.percent(0.125), m.percent(0.5), m.percent(undefined)],
          prices: [m.parsePrice("329"), m.parsePrice("1,299.5"), m.parsePrice("12.345"),
                   m.parsePrice("abc")],
        };""",
    )
    assert got["cny"].endswith("329.00") and "¥" in got["cny"]
    assert got["usd"] == "$19.99"
    assert (got["short"], got["long"], got["past"]) == ("4:32", "1:02:03", "0:00")
    assert (got["one"], got["many"]) == ("1 person watching", "1,200 people watching")
    assert got["left"] == ["12 left", "Last one left", "Sold out"]
    assert got["pct"] == ["12.5%", "50%", "–"]
    assert got["prices"] == [32900, 129950, None, None]


async def test_sequencer_drops_repeats_reports_gaps_and_resumes(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    got = await run(
        open_page,
        live_server.base_url,
        "channel.js",
        """
        const s = new m.Sequencer();
        const types = (r) => r.events.map((e) => e.type + (e.seq ?? ""));
        const out = {};
        out.fresh = types(s.take([
          {type: "snapshot", seq: 5, epoch: "a", recovered: false},
          {type: "chat", seq: 6}, {type: "stock"}, {type: "chat", seq: 7}]));
        out.resume1 = s.resume();
        out.repeat = types(s.take([{type: "chat", seq: 7}, {type: "chat", seq: 8}]));
        const gap = s.take([{type: "chat", seq: 10}, {type: "chat", seq: 11}]);
        out.gap = [gap.gap, types(gap)];
        // Reconnected with since=8: the server recovered and replays 9, 10, 11.
        const rec = s.take([
          {type: "snapshot", seq: 11, epoch: "a", recovered: true},
          {type: "chat", seq: 9}, {type: "chat", seq: 10}, {type: "chat", seq: 11}]);
        out.recovered = [rec.events[0].recovered, types(rec)];
        // A new epoch (history lost): start again from the snapshot.
        const lost = s.take([{type: "snapshot", seq: 2, epoch: "b", recovered: true},
                             {type: "chat", seq: 3}]);
        out.lost = [lost.events[0].recovered, types(lost), s.resume()];
        out.backoff = [0, 1, 2, 10].map((n) => [m.backoff(n, () => 0), m.backoff(n, () => 1)]);
        return out;""",
    )
    assert got["fresh"] == ["snapshot5", "chat6", "stock", "chat7"]
    assert got["resume1"] == {"since": 7, "epoch": "a"}
    assert got["repeat"] == ["chat8"]
    assert got["gap"] == [True, []]
    assert got["recovered"] == [True, ["snapshot11", "chat9", "chat10", "chat11"]]
    assert got["lost"] == [False, ["snapshot2", "chat3"], {"since": 3, "epoch": "b"}]
    assert got["backoff"] == [[250, 500], [500, 1000], [1000, 2000], [7500, 15000]]
