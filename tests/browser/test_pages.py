"""The pages on their own: they load, read well at phone width, and explain problems.
These need only the HTTP API (rooms, sessions, catalog), not the live layers."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.conftest import (
    INSECURE_HOST,
    LAPTOP,
    PHONE,
    OpenPage,
    horizontal_overflow,
    screenshot,
)
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


async def lineup_room(live_server: LiveServer) -> dict[str, Any]:
    room = await live_server.new_room("Autumn linen, live from the studio")
    product = await live_server.new_product(
        title="Washed linen shirt, oat",
        image_url="/static/img/linen-shirt.svg",
        description="Stone-washed European linen, relaxed cut.",
    )
    answer = await live_server.as_user(
        room["host_token"],
        "POST",
        f"/api/rooms/{room['room_id']}/products",
        json={"sku": product["sku"]},
    )
    assert answer.status_code == 201, answer.text
    return {**room, "product": product}


async def test_rooms_list_links_each_room_with_its_viewer_count(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    first = await live_server.new_room("Hand-thrown mugs")
    second = await live_server.new_room("Silk, slowly")
    page = await open_page(live_server.base_url + "/")
    for room in (first, second):
        link = page.get_by_role("link", name=room["title"])
        await expect(link).to_be_visible()
        await expect(link).to_have_attribute("href", f"/r/{room['room_id']}")
        await expect(link).to_contain_text("0 people watching")
    await page.get_by_role("link", name="Silk, slowly").click()
    await expect(page.get_by_role("heading", name="Silk, slowly")).to_be_visible()


async def test_viewer_page_has_labelled_controls_and_remembers_the_name(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    room = await live_server.new_room("Linen shirts")
    page = await open_page(room["viewer_url"])
    await expect(page.get_by_role("heading", name="Linen shirts")).to_be_visible()
    await expect(page).to_have_title("Linen shirts · live")
    await expect(page.get_by_label("The host's live video")).to_be_attached()
    await expect(page.get_by_role("button", name="Like")).to_be_visible()
    await expect(page.get_by_role("log", name="Chat messages")).to_be_attached()
    await expect(page.locator("#video-note")).to_have_text("Waiting for the host to go live.")

    # Keyboard only: type the name and press Enter.
    name = page.get_by_label("Your name, to chat and buy")
    await name.focus()
    await page.keyboard.type("Mei")
    await page.keyboard.press("Enter")
    await expect(page.get_by_label("Message", exact=True)).to_be_visible()
    await expect(page.get_by_text("Chatting as Mei")).to_be_visible()
    await expect(page.get_by_label("Message", exact=True)).to_be_focused()

    await page.reload()
    await expect(page.get_by_text("Chatting as Mei")).to_be_visible()
    await expect(name).to_be_hidden()


async def test_viewer_page_for_an_unknown_room_says_so(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    page = await open_page(live_server.base_url + "/r/r_doesnotexist")
    await expect(page.get_by_role("heading", name="Room not found")).to_be_visible()
    await expect(page.get_by_role("alert")).to_contain_text("This room does not exist")


async def test_studio_without_its_token_explains_where_the_link_comes_from(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    room = await live_server.new_room()
    page = await open_page(f"{live_server.base_url}/studio/{room['room_id']}")
    await expect(
        page.get_by_role("heading", name="This studio link is missing its key")
    ).to_be_visible()
    await expect(page.get_by_text("#token=…")).to_be_visible()
    await expect(page.get_by_role("button", name="Go live")).to_be_hidden()


async def test_studio_refuses_another_rooms_link_and_a_viewer_token(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    room = await live_server.new_room()
    other = await live_server.new_room()
    page = await open_page(
        f"{live_server.base_url}/studio/{room['room_id']}#token={other['host_token']}"
    )
    await expect(page.get_by_text("belongs to another room")).to_be_visible()

    viewer = await live_server.new_viewer()
    page = await open_page(
        f"{live_server.base_url}/studio/{room['room_id']}#token={viewer['token']}"
    )
    await expect(page.get_by_text("a viewer's, not the host's")).to_be_visible()


async def test_studio_previews_the_camera_and_manages_the_lineup(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    room = await lineup_room(live_server)
    page = await open_page(room["host_url"])
    await expect(page.get_by_role("heading", name=room["title"])).to_be_visible()
    await page.wait_for_function(
        "document.getElementById('preview').videoWidth > 0", timeout=15_000
    )
    await expect(page.get_by_role("button", name="Go live")).to_be_enabled()
    await expect(page.get_by_label("Camera", exact=True)).to_contain_text("fake_device_0")
    await expect(page.get_by_label("Microphone", exact=True)).not_to_be_empty()

    # The product added through the API is in the line-up, pinnable and on sale offer.
    lineup = page.locator("#lineup")
    await expect(lineup).to_contain_text("Washed linen shirt, oat")
    await expect(lineup.get_by_role("button", name="Pin Washed linen shirt, oat")).to_be_visible()
    await expect(page.get_by_label("Sale price")).to_have_value("329.00")

    # Adding by SKU from the studio.
    mug = await live_server.new_product(title="Hand-thrown mug", price_cents=12800)
    await page.get_by_label("Add a product by SKU").fill(mug["sku"])
    await page.get_by_role("button", name="Add", exact=True).click()
    await expect(lineup).to_contain_text("Hand-thrown mug")
    sale_form = page.get_by_role("region", name="Open a flash sale")
    await expect(sale_form.get_by_label("Product", exact=True)).to_contain_text("Hand-thrown mug")

    await page.get_by_label("Add a product by SKU").fill("no-such-sku")
    await page.get_by_role("button", name="Add", exact=True).click()
    await expect(page.locator("#add-note")).to_contain_text("No product with SKU")


async def test_studio_on_an_insecure_page_explains_https(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    room = await live_server.new_room()
    insecure = room["host_url"].replace("127.0.0.1", INSECURE_HOST)
    page = await open_page(insecure)
    help_text = page.locator("#camera-help")
    await expect(help_text).to_contain_text("This page is not secure")
    await expect(help_text).to_contain_text("https://")
    await expect(help_text).to_contain_text("localhost")
    await expect(page.get_by_role("button", name="Go live")).to_be_disabled()


@pytest.mark.parametrize("size", [PHONE, LAPTOP], ids=["phone", "laptop"])
async def test_pages_fit_the_screen_without_sideways_scrolling(
    live_server: LiveServer, open_page: OpenPage, size: dict[str, int]
) -> None:
    room = await lineup_room(live_server)
    label = "phone" if size == PHONE else "laptop"
    rooms = await open_page(live_server.base_url + "/", size)
    await expect(rooms.get_by_role("link", name=room["title"])).to_be_visible()
    viewer = await open_page(room["viewer_url"], size)
    await expect(viewer.get_by_role("heading", name=room["title"])).to_be_visible()
    studio = await open_page(room["host_url"], size)
    await expect(studio.locator("#lineup")).to_contain_text("Washed linen shirt")
    await studio.wait_for_function("document.getElementById('preview').videoWidth > 0")
    for name, page in (("rooms", rooms), ("viewer", viewer), ("studio", studio)):
        assert await horizontal_overflow(page) == 0, f"{name} scrolls sideways at {size}"
        await screenshot(page, f"static-{name}-{label}")
