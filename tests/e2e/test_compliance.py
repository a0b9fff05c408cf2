"""Issue 18 screens in Chromium against one demo server for the module: standar pelayanan on
the kiosk, the booking page and the printable service page; priority groups; SKM; the counter
console, dashboard, reports and admin items."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml
from playwright.sync_api import expect

from tests.conftest import DEMO_PASSWORD, ROOT
from tests.e2e.test_kiosk import make_kiosk, open_kiosk, services_by_name

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("compliance")]


@pytest.fixture(scope="module")
def server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.support.databases import create_database, drop_database
    from tests.support.live import prepare_database, start_server

    tmp = tmp_path_factory.mktemp("compliance")
    url = create_database(backend, tmp)
    doc = yaml.safe_load((ROOT / "app" / "data" / "demo_mall.yaml").read_text())
    users = [u["username"] for s in doc["sites"] for u in s["users"]]
    prepare_database(url, demo=True, passwords={u: DEMO_PASSWORD for u in users})
    srv = start_server(url, log_path=tmp / "server.log")
    try:
        yield srv
    finally:
        srv.stop()
        drop_database(url)


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
