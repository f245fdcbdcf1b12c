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


async def test_replay_positions_and_the_card_in_force(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    got = await run(
        open_page,
        live_server.base_url,
        "viewer-replay.js",
        """const chapters = [
          {type: "pin", at_ms: 1000, sku: "mug"}, {type: "sale", at_ms: 2000, sku: "mug"},
          {type: "pin", at_ms: 5000, sku: "scarf"}];
        return {
          at: [m.position(0), m.position(61500), m.position(3723000)],
          pinned: [0, 999, 1000, 4999, 5000, 90000].map(
            (ms) => m.pinnedAt(chapters, ms)?.sku ?? null),
        };""",
    )
    assert got["at"] == ["0:00", "1:01", "1:02:03"]
    assert got["pinned"] == [None, None, "mug", "mug", "scarf", "scarf"]


async def test_a_held_card_waits_for_its_frame_or_one_second(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    got = await run(
        open_page,
        live_server.base_url,
        "card-sync.js",
        """const video = document.createElement("video");
        const sync = new m.CardSync(video);
        sync.supported = true;
        sync.offset = 4294967000;  // close to wrapping
        const shown = [];
        const out = {position: m.framePosition((90 * 1500 + 4294967000) % 2 ** 32, 4294967000)};
        sync.shown = 900;
        sync.hold({media_ms: 1000}, () => shown.push("pin"));
        sync.hold({media_ms: 1100}, () => shown.push("unpin"));
        out.held = [...shown];
        sync.shown = 1000; sync.release();
        out.pinFrame = [...shown];
        sync.shown = 1133; sync.release();
        out.unpinFrame = [...shown];
        sync.hold({media_ms: 1200}, () => shown.push("later"));
        await new Promise((r) => setTimeout(r, 1200));  // the picture stalls
        out.bound = [...shown];
        sync.hold({}, () => shown.push("no clock"));  // no media_ms: at once
        out.now = [...shown];
        return out;""",
    )
    assert got["position"] == 1500
    assert got["held"] == []
    assert got["pinFrame"] == ["pin"]
    assert got["unpinFrame"] == ["pin", "unpin"]
    assert got["bound"] == ["pin", "unpin", "later"]
    assert got["now"] == ["pin", "unpin", "later", "no clock"]
