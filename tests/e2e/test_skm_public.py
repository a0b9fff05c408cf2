"""The public SKM page and the follow-up register's staff page in Chromium, with axe checks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot
from tests.e2e.test_dashboard import Demo, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("skm-public")]
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def assert_accessible(page: Any) -> None:
    """axe-core from the installed axe-playwright-python (no CDN): no serious/critical issue."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS},
                                       "resultTypes": ["violations"]})
    bad = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, "; ".join(f"{v['id']}: {[n['target'] for n in v['nodes'][:3]]}" for v in bad)


@pytest.fixture(scope="module")
def skm_server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.support.live import demo_server

    with demo_server(backend, tmp_path_factory.mktemp("skm")) as server:
        yield server


def test_skm_page_with_follow_up(skm_server: Any, page: Any) -> None:
    demo = Demo(skm_server)
    ktp = demo.services("DUKCAPIL")[0]
    for _ in range(2):
        demo.issue(ktp["id"])
    done = demo.serve_all(demo.counter("DUKCAPIL", 1), 2)
    for t, answers in zip(done, ([4, 4, 3, 4, 3, 4, 4, 2, 3], [3, 4, 3, 4, 4, 4, 4, 1, 3]),
                          strict=True):
        r = httpx.post(demo.url + "/api/v1/surveys", json={
            "tracking_code": t["tracking_code"], "answers": answers}, timeout=30)
        assert r.status_code == 201, r.text

    # A manager records the action for the low U8 on the staff page.
    sign_in(page, demo.url, "manajer", "/skm/tindak-lanjut")
    form = page.locator("#fu-form")
    form.locator("select[name=unsur]").select_option("U8")
    form.locator("textarea[name=action]").fill("Sediakan kanal pengaduan daring")
    form.locator("input[name=owner]").fill("Kepala Seksi Pelayanan")
    form.locator("input[name=due_date]").fill("2027-12-31")
    form.locator("button[type=submit]").click()
    expect(page.locator("#fu-table tbody tr")).to_have_count(1)
    page.locator("#fu-table .fu-status").select_option("in_progress")
    page.wait_for_timeout(300)

    public = page.context.browser.new_context(locale="id-ID", viewport={"width": 1280,
                                                                        "height": 900})
    p = public.new_page()
    p.goto(demo.url + "/skm")
    row = p.locator("#skm-agencies tbody[data-agency=DUKCAPIL] .skm-agency-row")
    # Sum of the NRR 30.5 x 1/9 x 25 = 84.72 (B); two respondents of two served.
    expect(row.locator(".ikm")).to_have_text("84.72")
    expect(row.locator(".respondents")).to_have_text("2")
    expect(row.locator(".minimum")).to_have_text("2")
    expect(row.locator(".sample")).to_have_text("Tercapai")
    fu = p.locator("#skm-follow-up tbody tr")
    expect(fu).to_have_count(1)
    expect(fu).to_contain_text("Kepala Seksi Pelayanan")
    expect(fu).to_contain_text("Berjalan")
    assert p.locator("svg.trend").count() >= 1
    assert p.locator("svg.trend polyline").count() >= 1 or p.locator("svg.trend circle").count()
    assert_accessible(p)
    screenshot(p, "skm-public")
    p.goto(demo.url + "/skm?period=year&lang=en")
    expect(p.locator("#skm-agencies")).to_be_visible()
    assert_accessible(p)
    public.close()
