"""Issue 17 (tracking page and survey) and issue 16 item 5 in Chromium, on one demo server:
the counter's survey tablet (a device bound to the counter) clears the previous citizen's
survey when the next one is called and after an idle time; validation messages and dates in
the page's language; a transferred ticket's page says its number changed; axe on each."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from babel.dates import format_date
from playwright.sync_api import expect

from tests.e2e.conftest import assert_accessible, screenshot
from tests.e2e.test_dashboard import Demo

# The database does not matter to what these screens show: SQLite only (keeps the suite lean).
pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
    pytest.mark.xdist_group("survey-tracking"),
]
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2}


@pytest.fixture(scope="module")
def server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.support.live import demo_server

    with demo_server(backend, tmp_path_factory.mktemp("survey-tracking")) as srv:
        yield srv


@pytest.fixture(scope="module")
def demo(server: Any) -> Demo:
    return Demo(server)


def _finish(demo: Demo, counter: int) -> dict[str, Any]:
    """Call the next ticket at the counter, start and finish it; the answer has no code."""
    t = demo.post(f"/api/v1/counters/{counter}/call-next")
    assert t["tracking_code"] is None
    demo.post(f"/api/v1/tickets/{t['id']}/start")
    return demo.post(f"/api/v1/tickets/{t['id']}/finish")


def test_survey_tablet_clears_the_previous_citizen(demo: Demo, browser: Any) -> None:
    ktp = demo.services("DUKCAPIL")[0]
    counter = demo.counter("DUKCAPIL", 1)
    demo.post(f"/api/v1/counters/{counter}/open")
    device = demo.post("/api/v1/devices", {"site_id": demo.site, "kind": "tablet",
                                           "name": "Tablet loket 1", "counter_id": counter},
                       demo.admin)
    ctx = browser.new_context(viewport={"width": 1024, "height": 1366}, locale="id-ID",
                              has_touch=True)
    ctx.set_default_timeout(10_000)
    try:
        tab = ctx.new_page()
        tab.goto(demo.url + device["path"] + "&poll=300&idle=3")
        expect(tab.locator("#tablet")).to_have_attribute("data-screen", "idle")
        assert "token=" not in tab.url  # kept in localStorage, off the address bar
        expect(tab.locator("#tablet-counter")).to_contain_text("Loket")
        first = demo.issue(ktp["id"])
        second = demo.issue(ktp["id"])
        done = _finish(demo, counter)
        assert done["id"] == first["id"]
        expect(tab.locator("#tablet")).to_have_attribute("data-screen", "form")
        expect(tab.locator("#tablet-number")).to_have_text(first["number"])
        assert_accessible(tab, "survey tablet")
        screenshot(tab, "survey-tablet-1024x1366")
        # The first citizen walks off after one answer; the officer calls the next one.
        tab.locator('input[name="u1"][value="4"]').check(force=True)
        called = demo.post(f"/api/v1/counters/{counter}/call-next")
        assert called["id"] == second["id"]
        expect(tab.locator("#tablet")).to_have_attribute("data-screen", "idle", timeout=3000)
        assert tab.locator('input[name="u1"]:checked').count() == 0
        demo.post(f"/api/v1/tickets/{second['id']}/start")
        demo.post(f"/api/v1/tickets/{second['id']}/finish")
        expect(tab.locator("#tablet-number")).to_have_text(second["number"])
        expect(tab.locator("#tablet")).to_have_attribute("data-screen", "form")
        # Nobody touches it: after the idle time (3 s here, 90 s by default) it is put away.
        expect(tab.locator("#tablet")).to_have_attribute("data-screen", "idle", timeout=6000)
        # A third citizen answers everything: stored for their ticket, marked "tablet".
        third = demo.issue(ktp["id"])
        _finish(demo, counter)
        expect(tab.locator("#tablet-number")).to_have_text(third["number"])
        for i in range(1, 10):
            tab.locator(f'input[name="u{i}"][value="3"]').check(force=True)
        tab.locator("#tablet-form button[type=submit]").click()
        expect(tab.locator("#tablet")).to_have_attribute("data-screen", "thanks")
    finally:
        ctx.close()
    day = datetime.now(ZoneInfo("Asia/Jakarta")).date().isoformat()
    ikm = demo.get(f"/api/v1/stats/ikm?from={day}&to={day}")
    assert ikm["by_source"].get("tablet") == 1
    # The officer cannot rate the second (skipped) ticket with their own session.
    r = httpx.post(demo.url + "/api/v1/surveys", headers=demo.officer, timeout=30,
                   json={"tracking_code": second["tracking_code"], "answers": [4] * 9})
    assert r.status_code == 403 and r.json()["error"]["code"] == "survey_staff_session"


@pytest.mark.parametrize("lang, message", [("id", "Pilih salah satu jawaban."),
                                           ("en", "Choose one of the answers.")])
def test_survey_page_speaks_the_page_language(demo: Demo, browser: Any, lang: str,
                                             message: str) -> None:
    ticket = demo.issue(demo.services("DUKCAPIL")[0]["id"])
    counter = demo.counter("DUKCAPIL", 1)
    demo.post(f"/api/v1/counters/{counter}/open")
    _finish(demo, counter)
    # An English browser: the native message would be "Please select one of these options."
    ctx = browser.new_context(locale="en-US", **PHONE)
    try:
        p = ctx.new_page()
        p.goto(f"{demo.url}/survey/{ticket['tracking_code']}?lang={lang}")
        expect(p.locator("fieldset.unsur")).to_have_count(9)
        head = p.locator(".survey-head .muted").inner_text()
        assert not ISO_DATE.search(head), head
        today = datetime.now(ZoneInfo("Asia/Jakarta")).date()
        assert format_date(today, format="long", locale=lang) in head
        assert_accessible(p, "survey page " + lang)
        screenshot(p, f"survey-phone-{lang}")
        p.locator("#survey-form button[type=submit]").click()
        first = p.locator('input[name="u1"]').first
        assert first.evaluate("e => e.validationMessage") == message
        assert p.url.endswith(f"?lang={lang}")  # nothing was sent
        # Answering clears the message for that unsur; the next one still asks.
        p.locator('input[name="u1"][value="4"]').check(force=True)
        assert first.evaluate("e => e.validationMessage") == ""
        p.locator("#survey-form button[type=submit]").click()
        second = p.locator('input[name="u2"]').first
        assert second.evaluate("e => e.validationMessage") == message
    finally:
        ctx.close()


def test_tracking_page_says_the_number_changed(demo: Demo, browser: Any) -> None:
    duk = demo.services("DUKCAPIL")
    ticket = demo.issue(duk[0]["id"])
    counter = demo.counter("DUKCAPIL", 1)
    demo.post(f"/api/v1/counters/{counter}/open")
    ctx = browser.new_context(locale="id-ID", **PHONE)
    ctx.set_default_timeout(10_000)
    try:
        p = ctx.new_page()
        p.goto(f"{demo.url}/t/{ticket['tracking_code']}?poll=500")
        expect(p.locator("#tr-number")).to_have_text(ticket["number"])
        expect(p.locator("#tr-changed")).to_be_hidden()
        issued = p.locator("#tr-issued").inner_text()
        assert not ISO_DATE.search(issued), issued
        today = datetime.now(ZoneInfo("Asia/Jakarta")).date()
        assert format_date(today, format="long", locale="id") in issued and "pukul" in issued
        called = demo.post(f"/api/v1/counters/{counter}/call-next")
        assert called["id"] == ticket["id"]
        moved = demo.post(f"/api/v1/tickets/{ticket['id']}/transfer",
                          {"service_id": duk[1]["id"]})
        assert moved["number"] != ticket["number"] and moved["tracking_code"] is None
        # The open page follows the new number and says that it changed, and to what.
        expect(p.locator("#tr-number")).to_have_text(moved["number"])
        expect(p.locator("#tr-changed")).to_be_visible()
        expect(p.locator("#tr-changed-title")).to_have_text(
            f"Nomor antrean Anda berubah: {ticket['number']} → {moved['number']}")
        expect(p.locator("#tr-changed-detail")).to_contain_text(duk[1]["name"])
        assert_accessible(p, "tracking page, transferred")
        screenshot(p, "track-3-transferred-phone")
        # Reloaded (server-rendered), in English, the same news.
        p.goto(f"{demo.url}/t/{ticket['tracking_code']}?lang=en")
        expect(p.locator("#tr-changed-title")).to_have_text(
            f"Your queue number changed: {ticket['number']} → {moved['number']}")
        issued = p.locator("#tr-issued").inner_text()
        assert format_date(today, format="long", locale="en") in issued, issued
        assert_accessible(p, "tracking page, English")
        # The lookup form's browser message is the page's too (an id-ID page here).
        p.goto(f"{demo.url}/t/?lang=id")
        p.locator("#track-lookup button[type=submit]").click()
        assert p.locator("#code").evaluate("e => e.validationMessage") == \
            "Ketik kode pelacakan dari tiket Anda."
        assert_accessible(p, "tracking lookup")
    finally:
        ctx.close()
