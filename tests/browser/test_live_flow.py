"""The whole product in two browsers: a host broadcasts and sells, viewers watch and buy.
These need the room channel, sales and orders, and WHIP/WHEP; before those layers are
merged each is skipped, naming the layers it lacks (see `needs`)."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, Route, expect

from tests.browser.conftest import LAPTOP, PHONE, OpenPage, needs, screenshot
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

SLOW = 30_000  # ms: WebRTC set-up on a loaded two-core machine

MOVING_VIDEO = """async () => {
  const v = document.getElementById('video');
  const c = document.createElement('canvas');
  c.width = v.videoWidth; c.height = v.videoHeight;
  const frame = () => { c.getContext('2d').drawImage(v, 0, 0); return c.toDataURL(); };
  const first = frame();
  await new Promise((r) => setTimeout(r, 1000));
  return first !== frame();
}"""


async def both_sizes(page: Page, name: str) -> None:
    for label, size in (("laptop", LAPTOP), ("phone", PHONE)):
        await page.set_viewport_size(size)  # type: ignore[arg-type]
        await page.wait_for_timeout(200)
        await screenshot(page, f"{name}-{label}")
    await page.set_viewport_size(LAPTOP)  # type: ignore[arg-type]


@needs("channel", "video")
async def test_host_goes_live_and_the_viewer_sees_moving_video(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    room = await live_server.new_room("Live from the fake camera")
    host = await open_page(room["host_url"])
    go_live = host.get_by_role("button", name="Go live")
    await expect(go_live).to_be_enabled(timeout=SLOW)
    await go_live.click()
    await expect(host.locator("#live-status")).to_contain_text("You are live", timeout=SLOW)
    await expect(host.locator("#live-badge")).to_have_text("Live")

    viewer = await open_page(room["viewer_url"])
    await viewer.wait_for_function(
        "() => { const v = document.getElementById('video');"
        " return v.videoWidth > 0 && v.currentTime > 0; }",
        timeout=SLOW,
    )
    start = await viewer.evaluate("document.getElementById('video').currentTime")
    await viewer.wait_for_function(
        f"document.getElementById('video').currentTime > {start} + 1", timeout=SLOW
    )
    assert await viewer.evaluate(MOVING_VIDEO), "the picture does not change"
    await expect(viewer.locator("#video-note")).to_be_hidden()
    sound = viewer.get_by_role("button", name="Tap for sound")
    await expect(sound).to_be_visible()
    await both_sizes(viewer, "live-video-viewer")
    await both_sizes(host, "live-video-studio")
    await sound.click()
    assert await viewer.evaluate("document.getElementById('video').muted") is False

    await host.get_by_role("button", name="Stop").click()
    await expect(viewer.locator("#video-note")).to_have_text(
        "Waiting for the host to go live.", timeout=SLOW
    )


@needs("channel", "sales")
async def test_chat_pin_flash_sale_buy_pay_and_sold_out(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    room = await live_server.new_room("Autumn linen")
    product = await live_server.new_product(
        title="Washed linen shirt, oat",
        image_url="/static/img/linen-shirt.svg",
        description="Stone-washed European linen, relaxed cut.",
    )
    host = await open_page(room["host_url"])
    await expect(host.locator("#conn")).to_have_text("Connected", timeout=SLOW)
    await host.get_by_label("Add a product by SKU").fill(product["sku"])
    await host.get_by_role("button", name="Add", exact=True).click()
    await expect(host.locator("#lineup")).to_contain_text("Washed linen shirt, oat")

    viewer = await open_page(room["viewer_url"])
    await expect(viewer.locator("#conn")).to_have_text("Connected", timeout=SLOW)
    await expect(host.locator("#stat-peak")).to_have_text(re.compile(r"[1-9]"), timeout=SLOW)

    # A pin shows the product card on the viewer page.
    await host.get_by_role("button", name="Pin Washed linen shirt, oat").click()
    card = viewer.locator("#product")
    await expect(card).to_contain_text("Washed linen shirt, oat")
    await expect(card).to_contain_text("329.00")
    await expect(card).to_contain_text("Stone-washed European linen")
    await expect(card.get_by_role("img", name="Washed linen shirt, oat")).to_be_visible()

    # Chat both ways.
    await viewer.get_by_label("Your name, to chat and buy").fill("Mei")
    await viewer.get_by_label("Your name, to chat and buy").press("Enter")
    message = viewer.get_by_label("Message", exact=True)
    await message.fill("Is the linen pre-washed?")
    await message.press("Enter")
    await expect(host.locator("#chat")).to_contain_text("Is the linen pre-washed?")
    await host.get_by_label("Message to viewers").fill("Yes, stone-washed twice.")
    await host.get_by_label("Message to viewers").press("Enter")
    await expect(viewer.locator("#chat")).to_contain_text("Yes, stone-washed twice.")

    # The host mutes Mei; she is told so in words, and can still buy.
    await host.get_by_role("button", name="Mute Mei for 5 minutes").first.click()
    await message.fill("Hello?")
    await message.press("Enter")
    await expect(viewer.locator("#chat-status")).to_contain_text("muted you")
    await expect(host.locator("#chat")).not_to_contain_text("Hello?")

    # A flash sale of one unit opens.
    await host.get_by_label("Units", exact=True).fill("1")
    await host.get_by_label("Sale price").fill("199")
    await host.get_by_label("Per-buyer limit").fill("1")
    await host.get_by_label("Hold to pay (seconds)").fill("120")
    await host.get_by_label("Runs for (minutes)").fill("5")
    await host.get_by_role("button", name="Open the sale").click()
    sale = viewer.locator("#sales .sale")
    await expect(sale).to_contain_text("Last one left")
    await expect(sale).to_contain_text("199.00")
    await expect(sale).to_contain_text(re.compile(r"Ends in \d+:\d\d"))
    await expect(card).to_contain_text("Last one left")

    # The viewer buys, sees the hold, and pays.
    await sale.get_by_label("Quantity").select_option("1")
    await sale.get_by_role("button", name="Buy now").click()
    order = viewer.locator("#orders .order")
    await expect(order).to_contain_text(re.compile(r"Held for you: \d+:\d\d left"))
    await expect(host.locator("#host-sales")).to_contain_text("1 held")
    await screenshot(viewer, "shop-viewer-held-laptop")
    await order.get_by_role("button", name=re.compile(r"^Pay ")).click()
    await expect(order).to_contain_text("Paid")

    # The host's dashboard counts it.
    await expect(host.locator("#host-orders")).to_contain_text("paid", timeout=SLOW)
    await expect(host.locator("#host-orders")).to_contain_text("1 × Washed linen shirt, oat")
    await expect(host.locator("#host-sales")).to_contain_text("1 sold")
    await expect(host.locator("#stat-orders")).to_have_text("1", timeout=SLOW)
    await expect(host.locator("#stat-units")).to_have_text("1")
    await expect(host.locator("#stat-gmv")).to_contain_text("199.00")

    # A second viewer, on a phone, meets "sold out" in words.
    second = await open_page(room["viewer_url"], PHONE)
    await expect(second.locator("#sales .sale")).to_contain_text("Sold out", timeout=SLOW)
    await expect(second.get_by_role("button", name="Buy now")).to_have_count(0)
    await expect(second.locator("#product")).to_contain_text("Sold out")

    # Closing the sale is said in words too.
    await host.get_by_role("button", name="Close the sale").click()
    await expect(second.locator("#sales .sale")).to_contain_text("This sale has closed.")

    for page in (host, viewer, second):
        text = await page.locator("body").inner_text()
        for slip in ("undefined", "null", "NaN", "[object"):
            assert slip not in text, f"{slip!r} shown on {page.url}"

    await both_sizes(viewer, "shop-viewer")
    await both_sizes(host, "shop-studio")
    await screenshot(second, "shop-second-viewer-phone")


@needs("channel")
async def test_a_dropped_channel_resumes_without_duplicate_chat(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    room = await live_server.new_room()
    host = await open_page(room["host_url"])
    viewer = await open_page(room["viewer_url"])
    for page in (host, viewer):
        await expect(page.locator("#conn")).to_have_text("Connected", timeout=SLOW)
    chat_input = host.get_by_label("Message to viewers")
    await chat_input.fill("first")
    await chat_input.press("Enter")
    await expect(viewer.locator("#chat")).to_contain_text("first")

    # Drop the viewer's socket and talk while it is away.
    await viewer.evaluate("window.liveChannel.ws.close()")
    for text in ("second", "third"):
        await chat_input.fill(text)
        await chat_input.press("Enter")
    await expect(viewer.locator("#conn")).to_have_text("Connected", timeout=SLOW)
    await expect(viewer.locator("#chat")).to_contain_text("third", timeout=SLOW)
    lines = await viewer.locator("#chat .chat-text").all_inner_texts()
    assert lines == ["first", "second", "third"]


@needs("channel", "sales")
async def test_buying_asks_for_a_name_then_a_hold_expires_and_an_order_is_cancelled(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    room = await live_server.new_room()
    product = await live_server.new_product(title="Hand-thrown mug", price_cents=12800)
    token = room["host_token"]
    lineup = f"/api/rooms/{room['room_id']}/products"
    answer = await live_server.as_user(token, "POST", lineup, json={"sku": product["sku"]})
    assert answer.status_code == 201, answer.text
    viewer = await open_page(room["viewer_url"], PHONE)
    await expect(viewer.locator("#conn")).to_have_text("Connected", timeout=SLOW)
    sale = {"sku": product["sku"], "stock": 1, "price_cents": 9900, "per_buyer_limit": 1}
    sales = f"/api/rooms/{room['room_id']}/sales"
    answer = await live_server.as_user(
        token, "POST", sales, json={**sale, "hold_s": 4, "duration_s": 300}
    )
    assert answer.status_code == 201, answer.text
    card = viewer.locator("#sales .sale")
    await expect(card).to_contain_text("Last one left")

    # Buy before choosing a name: the page asks for one, then goes on with the purchase.
    await card.get_by_role("button", name="Buy now").click()
    await expect(viewer.locator("#chat-status")).to_have_text("Choose a name to buy.")
    name = viewer.get_by_label("Your name, to chat and buy")
    await expect(name).to_be_focused()
    await name.fill("Ann")
    await name.press("Enter")
    order = viewer.locator("#orders .order")
    await expect(order).to_contain_text("Held for you")

    # Not paid within four seconds: the hold expires and the unit is back on sale.
    await expect(order).to_contain_text("Expired", timeout=SLOW)
    await expect(order.get_by_role("button", name=re.compile(r"^Pay "))).to_have_count(0)
    await expect(card).to_contain_text("Last one left", timeout=SLOW)

    # Another sale, with time to think: buy, then cancel; the unit goes back.
    napkin = await live_server.new_product(title="Linen napkin", price_cents=5900)
    answer = await live_server.as_user(token, "POST", lineup, json={"sku": napkin["sku"]})
    assert answer.status_code == 201, answer.text
    answer = await live_server.as_user(
        token, "POST", sales, json={**sale, "sku": napkin["sku"], "hold_s": 600, "duration_s": 300}
    )
    assert answer.status_code == 201, answer.text
    napkins = viewer.locator("#sales .sale", has_text="Linen napkin")
    await napkins.get_by_role("button", name="Buy now").click()
    held = viewer.locator("#orders .order", has_text="Linen napkin")
    await expect(held).to_contain_text("Held for you")
    await held.get_by_role("button", name="Cancel").click()
    await expect(held).to_contain_text("Cancelled.")
    await expect(napkins).to_contain_text("Last one left", timeout=SLOW)


@needs("channel", "sales")
async def test_a_buy_whose_answer_is_lost_is_retried_with_the_same_key(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    room = await live_server.new_room()
    product = await live_server.new_product(title="Mulberry silk scarf", price_cents=45900)
    token = room["host_token"]
    lineup = f"/api/rooms/{room['room_id']}/products"
    answer = await live_server.as_user(token, "POST", lineup, json={"sku": product["sku"]})
    assert answer.status_code == 201, answer.text
    answer = await live_server.as_user(
        token,
        "POST",
        f"/api/rooms/{room['room_id']}/sales",
        json={
            "sku": product["sku"],
            "stock": 5,
            "price_cents": 39900,
            "per_buyer_limit": 3,
            "hold_s": 300,
            "duration_s": 300,
        },
    )
    assert answer.status_code == 201, answer.text
    viewer = await open_page(room["viewer_url"])
    await viewer.get_by_label("Your name, to chat and buy").fill("Lan")
    await viewer.get_by_label("Your name, to chat and buy").press("Enter")
    await expect(viewer.get_by_text("Chatting as Lan")).to_be_visible()

    # The first answer is lost on the way back (the order was taken); the page retries.
    keys: list[str] = []

    async def lose_first_answer(route: Route) -> None:
        keys.append(route.request.headers["idempotency-key"])
        response = await route.fetch()
        if len(keys) == 1:
            await route.abort("connectionreset")
        else:
            await route.fulfill(response=response)

    await viewer.route("**/api/sales/*/orders", lose_first_answer)
    card = viewer.locator("#sales .sale")
    await card.get_by_label("Quantity").select_option("2")
    await card.get_by_role("button", name="Buy now").click()
    await expect(viewer.locator("#orders .order")).to_contain_text("2 × Mulberry silk scarf")
    await expect(card.get_by_role("button", name="Buy now")).to_be_enabled()
    await expect(card.locator(".status-note")).to_be_empty()
    assert len(keys) == 2 and keys[0] == keys[1], keys
    orders = await live_server.as_user(token, "GET", f"/api/rooms/{room['room_id']}/orders")
    assert [o["qty"] for o in orders.json()["orders"]] == [2]
    await expect(card).to_contain_text("3 left of 5")

    # A new tap is a new purchase, with a new key.
    await card.get_by_label("Quantity").select_option("1")
    await card.get_by_role("button", name="Buy now").click()
    await expect(card).to_contain_text("2 left of 5")
    await expect(card.get_by_role("button", name="Buy now")).to_be_enabled()
    assert len(keys) == 3 and keys[2] != keys[0]
