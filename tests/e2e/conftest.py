"""Playwright + Debian's Chromium (headless). Browser tests run against real servers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("MPP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
    "--autoplay-policy=no-user-gesture-required",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark browser tests; run them on SQLite only, unless marked both_engines.

    A screen reads the same JSON whichever engine stores it, and every API and database test
    runs on both engines; the browser tests that also run on PostgreSQL are those whose screen
    goes through an engine-specific path (the kiosk's asyncio issue, the lean call path,
    LISTEN/NOTIFY between processes)."""
    keep, dropped = [], []
    for item in items:
        if "/e2e/" not in str(item.fspath):
            keep.append(item)
            continue
        item.add_marker(pytest.mark.browser)
        callspec = getattr(item, "callspec", None)
        on_pg = callspec is not None and callspec.params.get("backend") == "postgresql"
        if on_pg and item.get_closest_marker("both_engines") is None:
            dropped.append(item)
        else:
            keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


# Module scope, not session: Playwright's sync API keeps an event loop running in this thread
# while it is started, and pytest-asyncio tests that follow on the same xdist worker would fail.
@pytest.fixture(scope="module")
def playwright_instance() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


class TestBrowser:
    """The launched browser; its contexts let Playwright's own probes run under our CSP.

    Playwright evaluates `wait_for_function` and similar predicates with eval, which the
    pages' Content-Security-Policy (rightly) forbids. tests/e2e/test_csp.py opens its
    contexts with `bypass_csp=False` and checks that no page breaks the policy.
    """

    def __init__(self, browser: Any) -> None:
        self._browser = browser

    def new_context(self, **kw: Any) -> Any:
        kw.setdefault("bypass_csp", True)
        return self._browser.new_context(**kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._browser, name)


@pytest.fixture(scope="module")
def browser(playwright_instance: Any) -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium")
    b = playwright_instance.chromium.launch(executable_path=CHROMIUM, headless=True,
                                            args=CHROMIUM_ARGS)
    yield TestBrowser(b)
    b.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="id-ID")
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: Any) -> Any:
    return context.new_page()


def screenshot(page: Any, name: str) -> None:
    """Save a README screenshot, only when MPP_SCREENSHOTS=1 (the suite doesn't rewrite them)."""
    if os.environ.get("MPP_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def assert_accessible(page: Any, what: str = "") -> None:
    """axe-core (served from the installed axe-playwright-python, no CDN): no serious or
    critical WCAG 2.1 A/AA violation on what the page shows now, contrast included."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS},
                                       "resultTypes": ["violations"]})
    bad = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, f"{what or page.url}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes'][:3]]}" for v in bad)


def small_text(page: Any, floor_px: float = 32) -> list[str]:
    """Visible text a citizen reads that is set below floor_px (empty when all is legible)."""
    return page.evaluate("""floor => {
      const out = [];
      for (const el of document.querySelectorAll('body *')) {
        const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
        if (!own || !el.getClientRects().length) continue;
        const st = getComputedStyle(el);
        if (st.visibility === 'hidden' || el.closest('[hidden], [aria-hidden="true"]')) continue;
        const r = el.getBoundingClientRect();
        if (r.bottom < 0 || r.top > innerHeight || r.right < 0 || r.left > innerWidth) continue;
        if (parseFloat(st.fontSize) < floor) out.push(el.textContent.trim().slice(0, 30) + ' ' + st.fontSize);
      }
      return out;
    }""", floor_px)
