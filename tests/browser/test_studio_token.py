"""Issue 19 finding 8: the studio drops the host token from its address bar once it has
read it (a screen share would show it), and a reload of the same tab still works."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.browser.conftest import OpenPage
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser


async def test_the_studio_takes_its_token_out_of_the_address_bar(
    live_server: LiveServer, open_page: OpenPage
) -> None:
    room = await live_server.new_room("Token out of sight")
    page = await open_page(room["host_url"])
    await expect(page.get_by_role("heading", name="Token out of sight")).to_be_visible()
    assert "#token=" in room["host_url"]
    assert page.url == f"{live_server.base_url}/studio/{room['room_id']}"
    assert room["host_token"] not in page.url
    await page.reload()
    await expect(page.get_by_role("heading", name="Token out of sight")).to_be_visible()
    missing = page.get_by_role("heading", name="This studio link is missing its key")
    await expect(missing).to_be_hidden()
