"""A visit with several services, end to end in Chromium against a real demo server:
kiosk ("Tambah layanan lain") -> display board -> the consoles of two agencies -> the public
tracking page -> the manager's dashboard."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.conftest import DEMO_PASSWORD
from tests.e2e.conftest import assert_accessible
from tests.e2e.test_counter_console import Demo
from tests.e2e.test_kiosk import choose, make_kiosk, open_kiosk, wait_ticket

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("visit")]

BOARD_READY = "window.__board && window.__board.connected && window.__board.snapshots > 0"


def _console(browser: Any, url: str, username: str, counter_id: int) -> Any:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="id-ID")
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    page.goto(url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/counter$"))
    page.click(f'.counter-card[data-counter="{counter_id}"] .js-open')
    expect(page.locator("#conn")).to_have_attribute("data-state", "ok")
    return page


def _serve(page: Any, number: str) -> None:
    page.locator('[data-action="call-next"]').click()
    expect(page.locator("#cur-number")).to_have_text(number)
    page.locator('[data-action="start"]').click()
    expect(page.locator("#cur-status")).to_have_attribute("data-status", "serving")
    page.locator('[data-action="finish"]').click()
    expect(page.locator("#cur-number")).to_have_text("—")


@pytest.mark.both_engines  # the engine-specific path under the screen
def test_visit_kiosk_board_two_consoles_tracking_dashboard(demo_server: Any, browser: Any,
                                                           page: Any) -> None:
    demo = Demo(demo_server)
    token = make_kiosk(demo_server)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    # Kiosk: Kartu Keluarga, then "Tambah layanan lain": Paspor baru at Imigrasi.
    open_kiosk(page, demo_server, token)
    expect(page.locator("#package-list .k-package", has_text="Pindah datang")).to_be_visible()
    choose(page, "Disdukcapil", "Kartu Keluarga")
    page.locator("#add-step-btn").click()
    expect(page.locator("#visit-banner")).to_be_visible()
    page.locator(".k-agency", has_text="Kantor Imigrasi").click()
    page.locator("#service-list .k-service", has_text="Paspor baru").click()
    expect(page.locator("#screen-visit")).to_be_visible()
    steps = page.locator("#visit-steps .k-visit-step")
    expect(steps).to_have_count(2)
    expect(steps.nth(0)).to_contain_text("Disdukcapil · Lantai 1 · Zona A")
    expect(steps.nth(1)).to_contain_text("Kantor Imigrasi · Lantai 2 · Zona B")
    expect(steps.nth(1)).to_contain_text("Biaya: Rp350.000")
    assert_accessible(page, "kiosk visit")
    page.locator("#visit-take-btn").click()
    number, code = wait_ticket(page)
    slip = page.locator("#print-area .ticket")
    expect(slip.locator(".t-steps li")).to_have_count(2)
    expect(slip.locator(".t-steps li").nth(1)).to_contain_text("Paspor baru — Kantor Imigrasi")

    # The board, and the tracking page, before anything happens.
    # Waiting on the board's own state runs a function string: allowed past the page's CSP.
    ctx = browser.new_context(viewport={"width": 1280, "height": 720}, locale="id-ID",
                              bypass_csp=True)
    ctx.set_default_timeout(15_000)
    board = ctx.new_page()
    board.goto(f"{demo.url}/display?audio_rate=8")
    board.wait_for_function(BOARD_READY)
    tracking = ctx.new_page()
    tracking.goto(f"{demo.url}/t/{code}?poll=500")
    plan = tracking.locator("#tr-steps .tr-step")
    expect(plan).to_have_count(2)
    expect(plan.nth(0)).to_contain_text("Sekarang")
    expect(plan.nth(1)).to_contain_text("Berikutnya")

    # Disdukcapil's console sees the whole visit, serves the first step.
    loket1 = demo.counter("DUKCAPIL", 1)
    duk = _console(browser, demo.url, "petugas_dukcapil", loket1)
    duk.locator('[data-action="call-next"]').click()
    expect(duk.locator("#cur-number")).to_have_text(number)
    visit = duk.locator("#visit-steps .visit-step")
    expect(visit).to_have_count(2)
    expect(visit.nth(1)).to_contain_text("Paspor baru · Kantor Imigrasi")
    duk.locator('[data-action="start"]').click()
    expect(duk.locator("#cur-status")).to_have_attribute("data-status", "serving")
    duk.locator('[data-action="finish"]').click()
    expect(duk.locator("#cur-number")).to_have_text("—")
    board.wait_for_function("n => document.getElementById('now-number').textContent === n",
                            arg=number)
    expect(board.locator("#now-counter")).to_have_text("Loket 1")
    # The tracking page follows by itself: the next step is where to go now.
    expect(plan.nth(0)).to_contain_text("Selesai")
    expect(plan.nth(1)).to_contain_text("Sekarang")
    expect(tracking.locator("#tr-agency")).to_contain_text("Kantor Imigrasi")
    assert_accessible(tracking, "tracking visit")

    # Imigrasi's console: the same number waits there and is called there.
    loket5 = demo.counter("IMIGRASI", 5)
    imi = _console(browser, demo.url, "petugas_imigrasi", loket5)
    expect(imi.locator("#waiting-list .ticket-row").first).to_contain_text(number)
    _serve(imi, number)
    board.wait_for_function(
        "n => window.__board.events.filter(e => e.type === 'ticket.called' && e.number === n)"
        ".length >= 2", arg=number)
    # The board called the same number again, now at Imigrasi's counter.
    expect(board.locator("#now-number")).to_have_text(number)
    expect(board.locator("#now-counter")).to_have_text("Loket 5")
    expect(plan.nth(1)).to_contain_text("Selesai")
    expect(tracking.locator("#tr-status")).to_have_attribute("data-status", "done")

    # The manager's dashboard: the one visit of the day used two agencies.
    dash = ctx.new_page()
    dash.goto(demo.url + "/login?next=/dashboard")
    dash.fill("input[name=username]", "manajer")
    dash.fill("input[name=password]", DEMO_PASSWORD)
    dash.click("button[type=submit]")
    expect(dash.locator("#k-integration")).to_have_text("100 %")
    expect(dash.locator("#k-integration-sub")).to_contain_text("1 / 1")
    assert errors == []
    for p in (duk, imi):
        p.context.close()
    ctx.close()
