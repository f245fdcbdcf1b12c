"""The pages in English and Simplified Chinese: the language comes from Accept-Language, a
switch on the page changes it for good, numbers and prices are written the reader's way,
and a server error shows the page's own words for its code."""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest
from playwright.async_api import Page, Route, expect

from tests.browser.conftest import LAPTOP, PORTRAIT, TOUCH, OpenPage, needs
from tests.browser.scenes import MUG_ZH, SHIRT_ZH, shop_room
from tests.conftest import LiveServer
from tests.realtime.client import channel
from tests.unit.test_page_texts import catalog

pytestmark = [pytest.mark.browser, needs("channel", "sales")]

SLOW = 30_000
CHINESE = {"locale": "zh-CN"}
ENGLISH = {"locale": "en-US"}

# Every piece of text a reader meets: rendered text nodes and the attributes read aloud or
# shown (placeholder, aria-label, title, alt), outside what users and shops wrote
# ([translate=no]) and outside text in another language on purpose (the switch: [lang]).
SHOWN_TEXTS = """() => {
  const page = document.documentElement;
  const own = (el) => !el.closest('[translate="no"]') && el.closest("[lang]") === page;
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || ["SCRIPT", "STYLE"].includes(el.tagName) || !own(el)) continue;
    if (!el.checkVisibility() || !node.textContent.trim()) continue;
    texts.push(node.textContent.trim());
  }
  const named = "[placeholder], [aria-label], [title], img[alt]";
  for (const el of document.body.querySelectorAll(named)) {
    if (!own(el) || !el.checkVisibility()) continue;
    for (const name of ["placeholder", "aria-label", "title", "alt"]) {
      const value = el.getAttribute(name);
      if (value && value.trim()) texts.push(value.trim());
    }
  }
  return texts;
}"""
ENGLISH_WORD = re.compile(r"[A-Za-z]{2,}")


async def shown_texts(page: Page) -> list[str]:
    texts: list[str] = await page.evaluate(SHOWN_TEXTS)
    return texts


async def english_in(page: Page) -> list[str]:
    return [text for text in await shown_texts(page) if ENGLISH_WORD.search(text)]


async def busy_room(live_server: LiveServer) -> dict[str, Any]:
    """A Chinese shop's room, mid-show: two products, one pinned, a flash sale, chat."""
    room = await shop_room(live_server, SHIRT_ZH, MUG_ZH, title="秋季亚麻专场")
    mug = room["products"][1]
    answer = await live_server.as_user(
        room["host_token"],
        "POST",
        f"/api/rooms/{room['room_id']}/sales",
        json={
            "sku": mug["sku"],
            "stock": 5,
            "price_cents": 9900,
            "per_buyer_limit": 2,
            "hold_s": 300,
            "duration_s": 600,
        },
    )
    assert answer.status_code == 201, answer.text
    return {**room, "sale": answer.json()}


async def test_chinese_readers_get_chinese_pages_with_no_english_left(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    room = await busy_room(live_server)
    rooms = await open_page(live_server.base_url + "/", LAPTOP, **CHINESE)
    await expect(rooms.get_by_role("heading", name="直播间")).to_be_visible()
    await expect(rooms.locator("html")).to_have_attribute("lang", "zh-CN")

    studio = await open_page(room["host_url"], LAPTOP, **CHINESE)
    await expect(studio.locator("#conn")).to_have_text("已连接", timeout=SLOW)
    await studio.wait_for_function("document.getElementById('preview').videoWidth > 0")
    await studio.get_by_role("button", name=f"置顶 {SHIRT_ZH['title']}").click()

    viewer = await open_page(room["viewer_url"], LAPTOP, **CHINESE)
    await expect(viewer.locator("#conn")).to_have_text("已连接", timeout=SLOW)
    await expect(viewer.locator("#product-title")).to_have_text(SHIRT_ZH["title"])
    await viewer.get_by_label("你的昵称（聊天和购买都需要）").fill("小梅")
    await viewer.get_by_label("你的昵称（聊天和购买都需要）").press("Enter")
    await expect(viewer.locator("#me-line")).to_have_text("你正以 小梅 的身份聊天。")
    await viewer.get_by_label("消息", exact=True).fill("有中码吗？")
    await viewer.get_by_label("消息", exact=True).press("Enter")
    await expect(studio.locator("#chat")).to_contain_text("有中码吗？")
    sale = viewer.locator("#sales .sale")
    await expect(sale).to_contain_text("剩 5 件，共 5 件")
    await expect(sale).to_contain_text("¥99.00")
    await sale.get_by_role("button", name="立即购买").click()
    await expect(viewer.locator("#orders .order")).to_contain_text(re.compile(r"已为你保留"))
    await expect(studio.locator("#host-orders")).to_contain_text("待付款", timeout=SLOW)
    await expect(studio.locator("#host-sales")).to_contain_text("保留 1", timeout=SLOW)

    for page in (rooms, viewer, studio):
        assert await english_in(page) == [], page.url
    phone = await open_page(room["viewer_url"], PORTRAIT, **CHINESE, **TOUCH)
    await expect(phone.locator("#conn")).to_have_text("已连接", timeout=SLOW)
    await expect(phone.locator("#product-title")).to_have_text(SHIRT_ZH["title"])
    assert await english_in(phone) == [], "phone viewer"


async def test_english_pages_show_no_message_keys(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    room = await busy_room(live_server)
    keys = set(catalog("en"))
    pages = [
        await open_page(live_server.base_url + "/", LAPTOP, **ENGLISH),
        await open_page(room["viewer_url"], LAPTOP, **ENGLISH),
        await open_page(room["host_url"], LAPTOP, **ENGLISH),
    ]
    await expect(pages[1].locator("#sales .sale")).to_contain_text("5 left of 5", timeout=SLOW)
    await expect(pages[2].locator("#conn")).to_have_text("Connected", timeout=SLOW)
    for page in pages:
        await expect(page.locator("html")).to_have_attribute("lang", "en")
        texts = await shown_texts(page)
        assert texts, page.url
        leaked = [text for text in texts if any(key in text for key in keys)]
        assert leaked == [], (page.url, leaked)


async def test_the_language_switch_is_kept_across_pages_and_reloads(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    room = await live_server.new_room("秋季亚麻专场")
    viewer = await open_page(room["viewer_url"], PORTRAIT, **CHINESE, **TOUCH)
    await expect(viewer.locator("#chat-open")).to_have_text("说点什么…")
    switch = viewer.get_by_role("button", name=re.compile(r"把语言切换为\s*English"))
    await expect(switch.locator('[lang="en"]')).to_have_text("English")
    await switch.tap()
    await expect(viewer.locator("#chat-open")).to_have_text("Say something…")
    await expect(viewer.locator("html")).to_have_attribute("lang", "en")
    await viewer.reload()
    await expect(viewer.locator("#chat-open")).to_have_text("Say something…")
    await viewer.goto(live_server.base_url + "/")
    await expect(viewer.get_by_role("heading", name="Shows", exact=True)).to_be_visible()
    # And back: the English page offers Chinese, in Chinese.
    await viewer.get_by_role("button", name=re.compile(r"Switch the language to\s*中文")).tap()
    await expect(viewer.get_by_role("heading", name="直播间")).to_be_visible()
    assert await viewer.evaluate("localStorage.getItem('live.lang')") == "zh-CN"


async def test_numbers_prices_and_dates_are_written_the_readers_way(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    written = """async () => {
      const m = await import('/static/js/format.js');
      return [m.money(32900, "CNY"), m.watching(1200), m.unitsLeft(3), m.percent(0.125),
              m.dateText("2026-12-24"), m.count(1234567)];
    }"""
    chinese = await open_page(live_server.base_url + "/", LAPTOP, **CHINESE)
    english = await open_page(live_server.base_url + "/", LAPTOP, **ENGLISH)
    assert await chinese.evaluate(written) == [
        "¥329.00",
        "1,200 人在看",
        "剩 3 件",
        "12.5%",
        "2026年12月24日",
        "1,234,567",
    ]
    assert await english.evaluate(written) == [
        "CN¥329.00",
        "1,200 people watching",
        "3 left",
        "12.5%",
        "Dec 24, 2026",
        "1,234,567",
    ]


def refusal(status: int, code: str) -> Any:
    """A route handler that answers like the server refusing with `code`."""
    body = {"error": {"code": code, "message": f"the server's own English for {code}"}}

    async def answer(route: Route) -> None:
        await route.fulfill(status=status, body=orjson.dumps(body), content_type="application/json")

    return answer


async def test_a_server_error_shows_the_pages_own_words_for_its_code(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    room = await busy_room(live_server)
    viewer = await open_page(room["viewer_url"], PORTRAIT, **CHINESE, **TOUCH)
    await expect(viewer.locator("#conn")).to_have_text("已连接", timeout=SLOW)
    name = viewer.get_by_label("你的昵称（聊天和购买都需要）")

    # The viewer page's own words for rate_limited on a new name (not the shared ones).
    await viewer.route("**/api/sessions", refusal(429, "rate_limited"))
    await viewer.locator("#chat-open").tap()
    await name.fill("小梅")
    await name.press("Enter")
    await expect(viewer.locator("#chat-status")).to_have_text(
        "这个网络新建的昵称太多了，请一分钟后再试。"
    )
    await viewer.unroute("**/api/sessions")
    await name.press("Enter")
    await expect(viewer.locator("#me-line")).to_contain_text("小梅")
    await viewer.locator("#chat-card").get_by_role("button", name="关闭").tap()

    # A flash sale's buy refused as sold out: the shared words for the code.
    await viewer.route("**/api/sales/*/orders", refusal(409, "sold_out"))
    sale = viewer.locator("#sales .sale")
    await sale.get_by_role("button", name="立即购买").tap()
    await expect(sale.locator(".status-note").last).to_have_text("已售罄，所有商品都被抢光了。")

    # A code this page has never heard of: a general sentence naming it.
    await viewer.route("**/api/rooms/*/orders", refusal(409, "a_code_from_the_future"))
    async with channel(live_server.ws_url, room["room_id"], room["host_token"]) as host:
        await host.next()
        await host.send({"type": "pin", "sku": room["products"][0]["sku"]})
        await expect(viewer.locator("#product-title")).to_have_text(SHIRT_ZH["title"])
    await viewer.locator("#product-buy").tap()
    await viewer.get_by_role("button", name="结算").tap()
    await expect(viewer.locator("#bag-note")).to_have_text(
        "出了点问题（代码 a_code_from_the_future），请再试一次。"
    )
    assert "the server's own English" not in await viewer.locator("body").inner_text()
