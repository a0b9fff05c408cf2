"""Issue 18 screens in Chromium against one demo server for the module: standar pelayanan on
the kiosk, the booking page and the printable service page; priority groups; SKM; the counter
console, dashboard, reports and admin items."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import DEMO_PASSWORD
from tests.e2e.test_kiosk import make_kiosk, open_kiosk, services_by_name

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("compliance")]


@pytest.fixture(scope="module")
def server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.support.live import demo_server

    with demo_server(backend, tmp_path_factory.mktemp("compliance")) as srv:
        yield srv


def admin(server: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.token('admin', DEMO_PASSWORD)}"}


def test_kiosk_detail_shows_six_components_and_groups_per_service(server: Any, page: Any) -> None:
    token = make_kiosk(server)
    svc = services_by_name(server)
    assert "sakit" in svc["Perpanjangan SIM A"]["priority_groups"]
    open_kiosk(page, server, token)
    page.locator(".k-agency", has_text="Polres").click()
    page.locator("#service-list .k-service", has_text="Perpanjangan SIM A").click()
    expect(page.locator("#detail-complaints")).to_contain_text("SP4N-LAPOR!")
    expect(page.locator(".k-info dt")).to_have_count(6)
    page.locator("#priority-btn").click()
    expect(page.locator("[data-priority=sakit]")).to_be_visible()
    expect(page.locator("[data-priority=korban_bencana]")).to_be_visible()
    expect(page.locator("[data-priority=other]")).to_have_count(0)
    # "Free" is the special treatment, not the fee.
    sub = page.locator("#screen-priority .k-sub").first
    expect(sub).to_contain_text("tanpa biaya tambahan")
    expect(sub).to_contain_text("biaya layanan tetap")
    expect(sub).not_to_contain_text("Layanan prioritas gratis")
    page.locator("[data-priority=sakit]").click()
    expect(page.locator("#screen-ticket")).to_be_visible()
    # A service that does not serve the sick hides the button.
    page.locator("[data-action=home]").last.click()
    page.locator(".k-agency", has_text="Disdukcapil").click()
    page.locator("#service-list .k-service", has_text="Kartu Keluarga").click()
    page.locator("#priority-btn").click()
    expect(page.locator("[data-priority=sakit]")).to_be_hidden()
    expect(page.locator("[data-priority=lansia]")).to_be_visible()


def test_booking_and_service_page_show_six_components(server: Any, browser: Any) -> None:
    services = httpx.get(f"{server.url}/api/v1/services", headers=admin(server), timeout=30).json()
    kk = next(s for s in services if s["name"] == "Kartu Keluarga")
    r = httpx.patch(f"{server.url}/api/v1/services/{kk['id']}", headers=admin(server),
                    timeout=30, json={"booking_enabled": True})
    assert r.status_code == 200, r.text
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="id-ID")
    try:
        p = phone.new_page()
        p.goto(f"{server.url}/booking")
        p.get_by_role("button", name=re.compile("Disdukcapil")).click()
        p.get_by_role("button", name=re.compile("Kartu Keluarga")).click()
        info = p.locator("#service-info")
        expect(info.locator(".bk-fact")).to_have_count(6)
        expect(info).to_contain_text("Penanganan pengaduan, saran dan masukan")
        expect(info).to_contain_text("Sistem, mekanisme dan prosedur")
        info.locator("a.bk-service-page").click()
        expect(p).to_have_url(re.compile(rf"/layanan/{kk['id']}$"))
        expect(p.locator(".component")).to_have_count(6)
        expect(p.locator('[data-component="complaints"] dd')).to_contain_text("SP4N-LAPOR!")
        p.emulate_media(media="print")
        expect(p.locator("#print-btn")).to_be_hidden()
        expect(p.locator(".topbar")).to_be_hidden()
        expect(p.locator("#standar-pelayanan")).to_be_visible()
        p.emulate_media(media="screen")
        p.evaluate("() => { window.__printed = 0; window.print = () => { window.__printed += 1; }; }")
        p.locator("#print-btn").click()
        assert p.evaluate("window.__printed") == 1
    finally:
        phone.close()


def test_admin_service_prompt_time_zone_holidays_and_styles(server: Any, page: Any) -> None:
    from tests.e2e.test_admin import sign_in

    h = admin(server)
    site = httpx.get(f"{server.url}/api/v1/sites", headers=h, timeout=30).json()[0]
    r = httpx.post(f"{server.url}/api/v1/sites", headers=h, timeout=30, json={
        "code": "mpp-luar", "name": "MPP Luar", "timezone": "Asia/Singapore",
        "prefill_holidays": False})
    assert r.status_code == 201, r.text
    luar = r.json()["id"]
    sign_in(page, server.url, "admin", DEMO_PASSWORD, "/admin/sites")
    tz = page.locator(f'#admin-table tr[data-id="{luar}"] [data-col="timezone"]')
    expect(tz).to_contain_text("bukan WIB/WITA/WIT")
    expect(page.locator(f'#admin-table tr[data-id="{site["id"]}"] [data-col="timezone"]')
           ).not_to_contain_text("bukan")
    # Editing keeps the odd zone (not silently the first of the list) and says why it matters.
    page.locator(f'#admin-table tr[data-id="{luar}"] [data-action=edit]').click()
    expect(page.locator('#admin-form [name="timezone"]')).to_have_value("Asia/Singapore")
    page.fill('#admin-form [name="name"]', "MPP Luar Negeri")
    page.click("#admin-form button[type=submit]")
    expect(page.locator("#page-ok")).to_contain_text("bukan WIB (Asia/Jakarta)")

    # A new service: the form asks which counters serve it.
    page.goto(server.url + "/admin/services")
    page.click("#add-btn")
    expect(page.locator('#admin-form textarea[name="requirements"]')).to_be_visible()
    font = page.evaluate("getComputedStyle(document.querySelector("
                         "'#admin-form textarea[name=requirements]')).fontFamily")
    assert "mono" not in font.lower(), font
    agencies = httpx.get(f"{server.url}/api/v1/agencies", headers=h, timeout=30).json()
    duk = next(a for a in agencies if a["code"] == "DUKCAPIL")
    page.select_option('#admin-form [name="agency_id"]', str(duk["id"]))
    page.fill('#admin-form [name="code"]', "DUKCAPIL-99")
    page.fill('#admin-form [name="name"]', "Legalisir dokumen")
    page.fill('#admin-form [name="prefix"]', "AZ")
    page.click("#admin-form button[type=submit]")
    prompt = page.locator("#assign-form")
    expect(prompt).to_contain_text("Legalisir dokumen")
    # The saved message stays in view (sticky) while the long list scrolls.
    page.mouse.wheel(0, 4000)
    page.wait_for_timeout(200)
    box = page.locator("#page-ok").bounding_box()
    assert box is not None and 0 <= box["y"] < 900, box
    prompt.locator('input[name="assign"]').first.check()
    prompt.locator("button[type=submit]").click()
    expect(page.locator("#page-ok")).to_contain_text("kini dilayani 1 loket")
    services = httpx.get(f"{server.url}/api/v1/services", headers=h, timeout=30).json()
    new = next(s for s in services if s["code"] == "DUKCAPIL-99")
    counters = httpx.get(f"{server.url}/api/v1/counters?agency_id={duk['id']}", headers=h,
                         timeout=30).json()
    assert sum(new["id"] in c["service_ids"] for c in counters) == 1

    # Holidays: one action fills next year's national holidays and cuti bersama.
    page.goto(server.url + "/admin/holidays")
    page.select_option("#site-pick", str(luar))
    page.click("#prefill-next")
    expect(page.locator("#page-ok")).to_contain_text("ditambahkan")
    expect(page.locator('#admin-table tr[data-kind="cuti_bersama"]').first).to_be_visible()
    expect(page.locator('#admin-table tr[data-kind="libur_nasional"] [data-col=kind]').first
           ).to_have_text("Libur nasional")


def test_dashboard_puts_urgent_rows_on_top_and_reports_errors_in_place(server: Any,
                                                                        page: Any) -> None:
    from tests.e2e.test_dashboard import sign_in as dash_sign_in

    h = admin(server)
    token = make_kiosk(server, "Kiosk dashboard")
    agencies = httpx.get(f"{server.url}/api/v1/agencies", headers=h, timeout=30).json()
    imi = next(a for a in agencies if a["code"] == "IMIGRASI")
    services = httpx.get(f"{server.url}/api/v1/services?agency_id={imi['id']}", headers=h,
                         timeout=30).json()
    last = services[-1]  # not the first row of its agency
    r = httpx.post(f"{server.url}/api/v1/tickets", json={"service_id": last["id"]},
                   headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert r.status_code == 201, r.text
    dash_sign_in(page, server.url, "manajer", "/dashboard")
    expect(page.locator("#conn")).to_have_attribute("data-state", "connected")
    # Nobody serves it: an alert says so, and the row and its agency move to the top.
    expect(page.locator(f'#alert-list li.unserved[data-service="{last["id"]}"]')
           ).to_contain_text("tidak ada loket buka")
    expect(page.locator("#alerts")).to_be_visible()
    # (Earlier tests of this module may have left other urgent rows: compare positions.)
    row = page.locator(f'#dash-body tr[data-agency="{imi["id"]}"] + tr')
    expect(row).to_have_attribute("data-service", str(last["id"]))
    expect(row).to_have_class(re.compile("is-unserved"))
    order = page.evaluate("""() => [...document.querySelectorAll('#dash-body tr.agency')]
        .map(r => [r.dataset.agency, r.classList.contains('is-alert')])""")
    flags = [alert for _, alert in order]
    assert flags == sorted(flags, reverse=True), order  # agencies with an alert first
    assert dict(order)[str(imi["id"])] is True

    # Reports: an error sits next to its field and the stale report is gone.
    page.goto(server.url + "/dashboard/reports")
    expect(page.locator("body")).to_have_attribute("data-loaded", "1")
    expect(page.locator("#rep-kpis .kpi").first).to_be_visible()
    page.select_option("#f-period", "range")
    page.fill("#f-from", "2026-12-10")
    page.fill("#f-to", "2026-12-01")
    page.click("#rep-form button[type=submit]")
    expect(page.locator("#err-to")).to_have_text("tanggal akhir sebelum tanggal awal")
    expect(page.locator("#f-to")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#rep-results")).to_be_hidden()
    expect(page.locator("#rep-kpis .kpi")).to_have_count(0)
    expect(page.locator("#rep-status")).not_to_have_class("alert")
    page.fill("#f-from", "2026-12-01")
    page.click("#rep-form button[type=submit]")
    expect(page.locator("body")).to_have_attribute("data-loaded", "1")
    expect(page.locator("#err-to")).to_be_hidden()
    expect(page.locator("#rep-results")).to_be_visible()


def test_counter_console_no_show_undo_disabled_style_transfer_origin_and_break(
        server: Any, page: Any) -> None:
    from tests.e2e.test_counter_console import Demo, open_counter
    from tests.e2e.test_counter_console import sign_in as console_sign_in

    demo = Demo(server)
    duk = demo.services("DUKCAPIL")
    loket = demo.counter("DUKCAPIL", 2)
    served = set(demo.get(f"/api/v1/counters/{loket}")["service_ids"])
    first, other = [s for s in duk if s["id"] in served][:2]
    t1 = demo.issue(first["id"])
    t2 = demo.issue(first["id"])
    console_sign_in(page, demo.url, "petugas_dukcapil")
    open_counter(page, loket)

    # Disabled buttons look disabled (hatched grey, not solid green), in both colour schemes.
    finish = page.locator('[data-action="finish"]')
    expect(finish).to_be_disabled()
    style = "(e) => { const s = getComputedStyle(e); return [s.backgroundImage, s.color]; }"
    image, color = finish.evaluate(style)
    assert "repeating-linear-gradient" in image and color != "rgb(255, 255, 255)"
    enabled_image, _ = page.locator('[data-action="call-next"]').evaluate(style)
    assert "gradient" not in enabled_image
    page.emulate_media(color_scheme="dark")
    dark_image, _ = finish.evaluate(style)
    assert "repeating-linear-gradient" in dark_image and dark_image != image
    page.emulate_media(color_scheme="light")

    # "Tidak hadir" just after the call asks first, then can be undone for a few seconds.
    page.click('[data-action="call-next"]')
    expect(page.locator("#cur-number")).to_have_text(t1["number"])
    page.click('[data-action="no-show"]')
    expect(page.locator("#noshow-dialog")).to_be_visible()
    expect(page.locator("#noshow-text")).to_contain_text("baru dipanggil")
    page.click("#noshow-confirm")
    expect(page.locator("#undo-bar")).to_be_visible()
    expect(page.locator('[data-action="recall"]')).to_be_disabled()
    page.click("#undo-btn")
    expect(page.locator("#undo-bar")).to_be_hidden()
    page.wait_for_timeout(6000)  # past the undo window: nothing was sent
    assert demo.get(f"/api/v1/tickets/{t1['id']}")["status"] == "called"
    expect(page.locator('[data-action="recall"]')).to_be_enabled()

    # Transfer with a note: the next counter sees the origin and the note at a glance.
    page.click('[data-action="transfer"]')
    page.select_option("#transfer-service", str(other["id"]))
    page.fill("#transfer-note", "Bawa KK asli")
    page.click("#transfer-submit")
    row = page.locator("#waiting-list .ticket-row").first
    expect(row.locator(".badge-transfer")).to_have_text(f"Pindahan dari {t1['number']}")
    expect(row.locator(".t-note")).to_have_text("Bawa KK asli")
    page.click('[data-action="call-next"]')
    expect(page.locator("#cur-origin")).to_contain_text(f"Dialihkan dari {t1['number']}")
    expect(page.locator("#cur-origin")).to_contain_text(first["name"])
    expect(page.locator("#cur-note")).to_contain_text("Bawa KK asli")
    # The confirmed no-show goes through after the undo window.
    page.click('[data-action="no-show"]')
    page.click("#noshow-confirm")
    expect(page.locator("#undo-bar")).to_be_hidden(timeout=15000)
    expect(page.locator("#cur-number")).to_have_text("—")

    # Break with the Friday-prayer preset: nothing can be called until it ends.
    page.click('[data-action="break"]')
    page.check("#break-friday")
    page.click("#break-submit")
    expect(page.locator("#break-panel")).to_contain_text("Istirahat: Salat Jumat")
    expect(page.locator('[data-action="call-next"]')).to_be_disabled()
    page.click("#break-end-btn")
    expect(page.locator("#break-panel")).to_be_hidden()
    expect(page.locator('[data-action="call-next"]')).to_be_enabled()
    page.click('[data-action="call-next"]')
    expect(page.locator("#cur-number")).to_have_text(t2["number"])


def test_manager_types_paper_questionnaires_into_the_ikm_report(server: Any, page: Any) -> None:
    from tests.e2e.test_dashboard import sign_in as dash_sign_in

    dash_sign_in(page, server.url, "manajer", "/dashboard/ikm")
    page.goto(server.url + "/dashboard/ikm?period=month")
    before = int(page.locator("#ikm-respondents").text_content() or "0")
    page.click("#paper-entry summary")
    page.fill("#paper-form textarea[name=lines]", "4 4 4 4 4 4 4 4 4 ; ruang tunggu nyaman\n"
              "3 3 3 3 3 3 3 3 x")
    page.click("#paper-form button[type=submit]")
    expect(page.locator("#paper-status")).to_have_text("Baris 2: harus sembilan nilai 1-4")
    page.fill("#paper-form textarea[name=lines]", "4 4 4 4 4 4 4 4 4 ; ruang tunggu nyaman\n"
              "333333333")
    page.click("#paper-form button[type=submit]")
    expect(page.locator("#paper-status")).to_have_text("2 kuesioner tersimpan")
    expect(page.locator("#ikm-respondents")).to_have_text(str(before + 2))
    expect(page.locator('#ikm-sources [data-source="paper"]')).to_have_text("kuesioner kertas 2")
    expect(page.locator(".comments")).to_contain_text("ruang tunggu nyaman")
