"""The counter officer console in Chromium, against a real server holding the demo MPP."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import DEMO_PASSWORD
from tests.e2e.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("counter-console")]


class Demo:
    """API helpers against the demo server, as the admin."""

    def __init__(self, server: Any) -> None:
        self.url = server.url
        self.h = {"Authorization": f"Bearer {server.token('admin', DEMO_PASSWORD)}"}

    def get(self, path: str) -> Any:
        r = httpx.get(self.url + path, headers=self.h, timeout=30)
        r.raise_for_status()
        return r.json()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        r = httpx.post(self.url + path, json=body, headers=self.h, timeout=30)
        assert r.status_code in (200, 201), r.text
        return r.json()

    def agency(self, code: str) -> int:
        return next(a["id"] for a in self.get("/api/v1/agencies") if a["code"] == code)

    def services(self, code: str) -> list[dict[str, Any]]:
        return self.get(f"/api/v1/services?agency_id={self.agency(code)}")

    def counter(self, code: str, number: int) -> int:
        agency = self.agency(code)
        return next(c["id"] for c in self.get(f"/api/v1/counters?agency_id={agency}")
                    if c["number"] == number)

    def issue(self, service_id: int, priority: str | None = None) -> dict[str, Any]:
        return self.post("/api/v1/tickets", {"service_id": service_id, "priority": priority})


def sign_in(page: Any, url: str, username: str) -> None:
    page.goto(url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/counter$"))


def open_counter(page: Any, counter_id: int) -> None:
    page.click(f'.counter-card[data-counter="{counter_id}"] .js-open')
    expect(page).to_have_url(re.compile(rf"/counter/{counter_id}$"))
    expect(page.locator("#conn")).to_have_attribute("data-state", "ok")
    expect(page.locator('[data-action="call-next"]')).to_be_enabled()


@pytest.mark.both_engines  # the engine-specific path under the screen
def test_officer_serves_citizens(demo_server: Any, page: Any) -> None:
    demo = Demo(demo_server)
    duk = demo.services("DUKCAPIL")
    imigrasi = demo.services("IMIGRASI")[0]
    loket1 = demo.counter("DUKCAPIL", 1)
    t1 = demo.issue(duk[0]["id"], "lansia")
    t2, t3, t4, t5 = (demo.issue(duk[i % 3]["id"]) for i in range(4))

    sign_in(page, demo.url, "petugas_dukcapil")
    expect(page.locator(".counter-card")).to_have_count(4)
    screenshot(page, "counter-picker")
    open_counter(page, loket1)
    assert page.evaluate("localStorage.getItem('mpp.counter')") == str(loket1)
    expect(page.locator("#waiting-count")).to_have_text("5")
    expect(page.locator("#waiting-list .ticket-row").first).to_contain_text(t1["number"])
    expect(page.locator("#waiting-list .ticket-row").first).to_contain_text("Prioritas")
    # Only a valid transition is offered.
    for action in ("recall", "start", "finish", "no-show", "hold", "transfer"):
        expect(page.locator(f'[data-action="{action}"]')).to_be_disabled()

    # P calls the next ticket: the priority one first.
    page.keyboard.press("p")
    expect(page.locator("#cur-number")).to_have_text(t1["number"])
    expect(page.locator("#cur-status")).to_have_text("Dipanggil")
    expect(page.locator("#cur-prio")).to_be_visible()
    expect(page.locator("#waiting-count")).to_have_text("4")
    expect(page.locator('[data-action="finish"]')).to_be_disabled()
    page.click('[data-action="recall"]')
    expect(page.locator("#cur-calls")).to_have_text("2 kali")
    page.keyboard.press("m")
    expect(page.locator("#cur-status")).to_have_text("Sedang dilayani")
    expect(page.locator('[data-action="start"]')).to_be_disabled()
    page.keyboard.press("s")
    expect(page.locator("#served-today")).to_have_text("1")
    expect(page.locator("#cur-number")).to_have_text("—")

    # Transfer to another agency, with a note (A opens the dialog).
    page.click('[data-action="call-next"]')
    expect(page.locator("#cur-number")).to_have_text(t2["number"])
    expect(page.locator("#cur-prio")).to_be_hidden()
    page.keyboard.press("a")
    expect(page.locator("#transfer-dialog")).to_be_visible()
    page.select_option("#transfer-service", str(imigrasi["id"]))
    page.fill("#transfer-note", "Perlu paspor baru")
    page.click("#transfer-submit")
    expect(page.locator("#status-line")).to_contain_text(imigrasi["prefix"] + "-001")
    expect(page.locator("#cur-number")).to_have_text("—")
    moved = demo.get(f"/api/v1/tickets/{t2['id']}")
    assert moved["status"] == "transferred"

    # No-show (H) and hold (T), then the held ticket is called back from the list.
    page.keyboard.press("p")
    expect(page.locator("#cur-number")).to_have_text(t3["number"])
    page.keyboard.press("h")
    # Called a moment ago: the console asks, then leaves a few seconds to undo (issue 18).
    page.click("#noshow-confirm")
    expect(page.locator("#status-line")).to_contain_text("Tidak hadir", timeout=15000)
    page.keyboard.press("p")
    expect(page.locator("#cur-number")).to_have_text(t4["number"])
    page.keyboard.press("t")
    held = page.locator("#held-list .ticket-row")
    expect(held).to_have_count(1)
    expect(held.first).to_contain_text(t4["number"])
    page.keyboard.press("p")
    expect(page.locator("#cur-number")).to_have_text(t5["number"])
    page.keyboard.press("m")
    expect(page.locator("#cur-status")).to_have_text("Sedang dilayani")
    # More citizens arrive while the officer serves: the list follows live.
    for i in range(3):
        demo.issue(duk[i]["id"], "ibu_hamil" if i == 1 else None)
    expect(page.locator("#waiting-count")).to_have_text("3")
    screenshot(page, "counter-console")
    page.keyboard.press("s")
    expect(held.first.locator("button")).to_be_enabled()
    held.first.locator("button").click()
    expect(page.locator("#cur-number")).to_have_text(t4["number"])
    expect(held).to_have_count(0)
    # A key typed while the previous action is still in flight runs right after it.
    page.keyboard.press("m")
    page.keyboard.press("s")
    expect(page.locator("#served-today")).to_have_text("3")

    events = [t["status"] for t in (demo.get(f"/api/v1/tickets/{t['id']}")
                                    for t in (t1, t3, t4, t5))]
    assert events == ["done", "no_show", "done", "done"]


@pytest.mark.both_engines  # the engine-specific path under the screen
def test_second_console_sees_the_queue_shrink_live(demo_server: Any, browser: Any,
                                                   page: Any) -> None:
    demo = Demo(demo_server)
    duk = demo.services("DUKCAPIL")
    demo.post("/api/v1/users", {"username": "petugas_dukcapil_2", "password": DEMO_PASSWORD,
                                "role": "officer", "agency_id": demo.agency("DUKCAPIL"),
                                "full_name": "Petugas Dukcapil Dua"})
    loket1, loket2 = demo.counter("DUKCAPIL", 1), demo.counter("DUKCAPIL", 2)
    tickets = [demo.issue(duk[0]["id"]) for _ in range(3)]

    sign_in(page, demo.url, "petugas_dukcapil")
    open_counter(page, loket1)
    other = browser.new_context(viewport={"width": 1280, "height": 900}, locale="id-ID")
    other.set_default_timeout(10_000)
    try:
        second = other.new_page()
        sign_in(second, demo.url, "petugas_dukcapil_2")
        open_counter(second, loket2)
        expect(second.locator("#waiting-count")).to_have_text("3")
        expect(second.locator("#waiting-list .ticket-row")).to_have_count(3)

        page.keyboard.press("p")
        expect(page.locator("#cur-number")).to_have_text(tickets[0]["number"])
        expect(second.locator("#waiting-count")).to_have_text("2")
        expect(second.locator("#waiting-list .ticket-row").first).to_contain_text(
            tickets[1]["number"])
        page.keyboard.press("u")
        expect(page.locator("#cur-calls")).to_have_text("2 kali")
        page.keyboard.press("h")
        page.click("#noshow-confirm")  # called a moment ago: confirm, then the undo window
        expect(page.locator('[data-action="call-next"]')).to_be_enabled(timeout=15000)
        page.keyboard.press("p")
        expect(second.locator("#waiting-count")).to_have_text("1")
        # The second officer takes the last one; both consoles show an empty queue.
        second.keyboard.press("p")
        expect(second.locator("#cur-number")).to_have_text(tickets[2]["number"])
        expect(page.locator("#waiting-count")).to_have_text("0")
        expect(page.locator("#waiting-empty")).to_be_visible()
        page.keyboard.press("m")
        expect(page.locator("#cur-status")).to_have_text("Sedang dilayani")
        page.keyboard.press("s")
        expect(page.locator("#cur-number")).to_have_text("—")
        page.keyboard.press("p")
        expect(page.locator("#empty-msg")).to_be_visible()
        expect(page.locator("#empty-msg")).to_have_text("Antrean kosong")
        expect(page.locator("#status-line")).to_have_text("Antrean kosong")

        # Taking over Loket 2 asks first; the second console then only watches.
        page.goto(demo.url + "/counter?pick=1")
        page.click(f'.counter-card[data-counter="{loket2}"] .js-open')
        expect(page.locator("#takeover-dialog")).to_be_visible()
        expect(page.locator("#takeover-text")).to_contain_text("Petugas Dukcapil Dua")
        page.click("#takeover-confirm")
        expect(page).to_have_url(re.compile(rf"/counter/{loket2}$"))
        expect(second.locator("#banner")).to_contain_text("diambil alih")
        expect(second.locator('[data-action="finish"]')).to_be_disabled()
    finally:
        other.close()


def test_expired_session_goes_back_to_sign_in(demo_server: Any, page: Any) -> None:
    demo = Demo(demo_server)
    loket1 = demo.counter("DUKCAPIL", 1)
    sign_in(page, demo.url, "petugas_dukcapil")
    open_counter(page, loket1)
    page.context.clear_cookies()
    page.keyboard.press("p")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fcounter%2F\d+$"))
    # Signing in again goes straight back to the console.
    page.fill("input[name=username]", "petugas_dukcapil")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(rf"/counter/{loket1}$"))


def test_sign_out_closes_the_counter(demo_server: Any, page: Any) -> None:
    demo = Demo(demo_server)
    loket1 = demo.counter("DUKCAPIL", 1)
    sign_in(page, demo.url, "petugas_dukcapil")
    open_counter(page, loket1)
    page.click("#logout-form button")
    # The sign-in page; the console's live screen, ended with the session, may get there first
    # and ask to come back to this counter.
    expect(page).to_have_url(re.compile(r"/login(\?next=%2Fcounter%2F\d+)?$"))
    assert demo.get(f"/api/v1/counters/{loket1}")["is_open"] is False
    page.goto(demo.url + "/counter")
    expect(page).to_have_url(re.compile(r"/login\?next="))
