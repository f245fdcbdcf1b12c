"""axe-core (the npm package, installed under tools/axe by `make test`) run in a page."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Page

from live.settings import PROJECT_ROOT

AXE_JS = PROJECT_ROOT / "tools" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
SEVERE = ("serious", "critical")


async def axe_violations(page: Page, *, exclude: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """The serious and critical violations axe finds on the page as it is now, each with
    the rule, its impact and the first offending elements."""
    if not AXE_JS.exists():
        pytest.skip(f"no axe-core at {AXE_JS}; `make test` runs npm ci in tools/axe")
    # Evaluated through the DevTools protocol, so a page's CSP does not stand in the way.
    await page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = await page.evaluate(
        """async (exclude) => {
          const context = exclude.length ? { exclude: exclude.map((s) => [s]) } : document;
          const result = await axe.run(context, { resultTypes: ["violations"] });
          return result.violations.map((v) => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
          }));
        }""",
        list(exclude),
    )
    return [v for v in found if v["impact"] in SEVERE]
