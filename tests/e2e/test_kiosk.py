"""The touch kiosk and the public tracking page in Chromium, against a real demo server.

Each test gets its own server on a fresh demo database (open at all hours) and a kiosk device
token inserted into that database, as an admin would issue one.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import sqlalchemy as sa
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from app.db.models import Device, Site, Ticket
from app.db.session import make_engine
from app.services.auth import new_device_token
from tests.conftest import DEMO_PASSWORD
from tests.e2e.conftest import screenshot

SITE = "mpp-contoh"
KTP = "Perekaman KTP-el"
PRINT_STUB = "window.__prints = 0; window.print = () => { window.__prints += 1; };"


# --- helpers --------------------------------------------------------------------------------


def db_exec(server: Any, fn: Any) -> Any:
    engine = make_engine(server.database_url)
    try:
        with Session(engine) as session:
            result = fn(session)
            session.commit()
            return result
    finally:
        engine.dispose()


def make_kiosk(server: Any, name: str = "Kiosk E2E") -> str:
    """Register a kiosk device in the server's database and return its token."""
    token, token_hash = new_device_token()

    def add(session: Session) -> None:
        site = session.scalar(sa.select(Site).where(Site.code == SITE))
        session.add(Device(site_id=site.id, kind="kiosk", name=name, token_hash=token_hash))

    db_exec(server, add)
    return token


def revoke(server: Any, token: str) -> None:
    from app.services.auth import token_hash

    db_exec(server, lambda s: s.execute(sa.update(Device).where(
        Device.token_hash == token_hash(token)).values(is_active=False)))


def ticket_count(server: Any) -> int:
    return int(db_exec(server, lambda s: s.scalar(sa.select(sa.func.count()).select_from(Ticket))))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def admin(server: Any) -> dict[str, str]:
    return bearer(server.token("admin", DEMO_PASSWORD))


def services_by_name(server: Any) -> dict[str, dict[str, Any]]:
    r = httpx.get(f"{server.url}/api/v1/catalog", params={"site_code": SITE}, timeout=30)
    r.raise_for_status()
    return {s["name"]: {**s, "agency": a} for a in r.json()["agencies"] for s in a["services"]}


def issue(server: Any, token: str, service_id: int) -> dict[str, Any]:
    r = httpx.post(f"{server.url}/api/v1/tickets", json={"service_id": service_id},
                   headers=bearer(token), timeout=30)
    assert r.status_code == 201, r.text
    return r.json()


def track(server: Any, code: str) -> dict[str, Any]:
    r = httpx.get(f"{server.url}/api/v1/track/{code}", timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def open_kiosk(page: Any, server: Any, token: str | None, **params: Any) -> None:
    page.add_init_script(PRINT_STUB)
    query = {"ticket_seconds": 60, **params}
    if token:
        query["token"] = token
    page.goto(f"{server.url}/kiosk?{urlencode(query)}")
    if token:
        expect(page.locator("#screen-agencies")).to_be_visible()


def choose(page: Any, agency: str, service: str) -> None:
    page.locator(".k-agency", has_text=agency).click()
    expect(page.locator("#screen-services")).to_be_visible()
    page.locator("#service-list .k-service", has_text=service).click()
    expect(page.locator("#screen-detail")).to_be_visible()
    expect(page.locator("#detail-name")).to_have_text(service)


def wait_ticket(page: Any) -> tuple[str, str]:
    expect(page.locator("#screen-ticket")).to_be_visible()
    slip = page.locator("#ticket-screen .ticket")
    return slip.get_attribute("data-number"), slip.get_attribute("data-tracking")


def pdf_size_mm(page: Any) -> tuple[float, float]:
    """The first page's size of the printed PDF, using the page's own @page size."""
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    m = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
    assert m, "no MediaBox in PDF"
    return float(m.group(1)) * 25.4 / 72, float(m.group(2)) * 25.4 / 72


# --- tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize("viewport", [(1080, 1920), (1920, 1080)], ids=["portrait", "landscape"])
def test_take_ticket_end_to_end(demo_server: Any, browser: Any, viewport: tuple[int, int]) -> None:
    token = make_kiosk(demo_server)
    ktp = services_by_name(demo_server)[KTP]
    for _ in range(2):
        issue(demo_server, token, ktp["id"])
    w, h = viewport
    size = f"{w}x{h}"
    ctx = browser.new_context(viewport={"width": w, "height": h}, locale="id-ID")
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        open_kiosk(page, demo_server, token, ticket_seconds=4)
        # The token is kept by the kiosk, not left in the address bar.
        assert "token" not in page.url
        assert page.evaluate("localStorage.getItem('mpp_kiosk_token')") == token
        expect(page.locator("#site-name")).to_have_text("Mal Pelayanan Publik Kota Contoh")
        expect(page.locator(".k-agency")).to_have_count(12)
        # Touch targets are at least 64 px tall.
        heights = page.eval_on_selector_all(
            ".k-agency, .k-lang-btn, #checkin-link", "els => els.map(e => e.getBoundingClientRect().height)")
        assert min(heights) >= 64, heights
        screenshot(page, f"kiosk-1-agencies-{size}")

        page.locator(".k-agency", has_text="Disdukcapil").click()
        expect(page.locator("#services-agency")).to_have_text("Disdukcapil")
        tile = page.locator("#service-list .k-service", has_text=KTP)
        expect(tile).to_contain_text("Buka")
        expect(tile).to_contain_text("2 orang menunggu")
        expect(tile).to_contain_text("Sisa kuota hari ini: 148")
        screenshot(page, f"kiosk-2-services-{size}")

        tile.click()
        # What the citizen needs to know before committing.
        expect(page.locator("#detail-requirements")).to_contain_text("Fotokopi Kartu Keluarga")
        expect(page.locator("#detail-fee")).to_have_text("Gratis")
        expect(page.locator("#detail-completion")).to_have_text("± 8 menit di loket")
        expect(page.locator("#detail-status")).to_contain_text("Perkiraan tunggu ± ")
        take = page.locator("#take-btn")
        assert take.bounding_box()["height"] >= 64
        screenshot(page, f"kiosk-3-detail-{size}")

        page.locator("#priority-btn").click()
        expect(page.locator("#screen-priority")).to_be_visible()
        expect(page.locator("[data-priority]:visible")).to_have_count(5)  # sakit only for SIM and Samsat
        screenshot(page, f"kiosk-4-priority-{size}")
        page.locator("#screen-priority [data-action=back]").click()
        expect(page.locator("#screen-detail")).to_be_visible()

        before = ticket_count(demo_server)
        take.click()
        number, code = wait_ticket(page)
        api = track(demo_server, code)
        assert number == api["number"] == "AA-003"
        assert api["people_ahead"] == 2 and api["status"] == "waiting"
        slip = page.locator("#ticket-screen .ticket")
        expect(slip.locator(".t-ahead")).to_have_text("2 antrean sebelum Anda")
        lo, hi = api["estimated_wait_range"]
        expect(slip.locator(".t-range")).to_have_text(f"Perkiraan tunggu {lo}–{hi} menit")
        expect(slip).to_contain_text("Mal Pelayanan Publik Kota Contoh")
        expect(slip).to_contain_text("Disdukcapil")
        expect(slip.locator(".t-when")).to_contain_text("WIB")
        expect(slip.locator(".t-priority")).to_be_hidden()
        page.wait_for_function("document.querySelector('#ticket-screen .t-qr').naturalWidth > 0")
        assert page.evaluate("window.__prints") == 1
        assert ticket_count(demo_server) == before + 1
        screenshot(page, f"kiosk-5-ticket-{size}")
        # The ticket stays a few seconds, then the kiosk is ready for the next citizen.
        expect(page.locator("#screen-agencies")).to_be_visible(timeout=20_000)
        assert page.evaluate("window.__prints") == 1
        assert errors == []
    finally:
        ctx.close()


def test_priority_ticket_on_58mm_paper(demo_server: Any, page: Any) -> None:
    token = make_kiosk(demo_server)
    open_kiosk(page, demo_server, token, paper="58")
    choose(page, "Disdukcapil", "Kartu Keluarga")
    page.locator("#priority-btn").click()
    page.locator("[data-priority=lansia]").click()
    number, code = wait_ticket(page)
    slip = page.locator("#ticket-screen .ticket")
    expect(slip.locator(".t-priority")).to_be_visible()
    expect(slip.locator(".t-priority")).to_have_text("Prioritas")
    # The group is recorded, but never printed or shown.
    expect(slip).not_to_contain_text("Lanjut usia")
    group = db_exec(demo_server, lambda s: s.scalar(
        sa.select(Ticket.priority).where(Ticket.tracking_code == code)))
    assert group == "lansia" and track(demo_server, code)["priority"] is True
    # The slip is laid out for a 58 mm roll and the page is as long as the slip.
    page.wait_for_function("document.querySelector('#print-area .t-qr').complete")
    assert page.evaluate("window.__prints") == 1
    width, height = pdf_size_mm(page)
    assert abs(width - 58) < 1 and 60 <= height < 200, (width, height)
    page.emulate_media(media="print")
    expect(page.locator("#print-area .t-number")).to_have_text(number)
    expect(page.locator("#main")).to_be_hidden()
    box = page.locator("#print-area .ticket").bounding_box()
    assert abs(box["width"] - 48 * 96 / 25.4) < 2


def test_closed_and_quota_exhausted_services(demo_server: Any, page: Any) -> None:
    token = make_kiosk(demo_server)
    svc = services_by_name(demo_server)
    headers = admin(demo_server)
    closed, full = svc["Kartu Keluarga"], svc["Akta Kelahiran"]
    # Open only on one weekday that is not today: closed now, with a known next opening.
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    tomorrow = datetime.now(UTC).astimezone(ZoneInfo("Asia/Jakarta")) + timedelta(days=1)
    day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][tomorrow.weekday()]
    r = httpx.patch(f"{demo_server.url}/api/v1/services/{closed['id']}", headers=headers,
                    json={"opening_hours": {day: [["07:30", "16:00"]]}}, timeout=30)
    assert r.status_code == 200, r.text
    r = httpx.patch(f"{demo_server.url}/api/v1/services/{full['id']}", headers=headers,
                    json={"daily_quota": 0}, timeout=30)
    assert r.status_code == 200, r.text

    open_kiosk(page, demo_server, token)
    page.locator(".k-agency", has_text="Disdukcapil").click()
    expect(page.locator("#service-list .k-service", has_text="Kartu Keluarga")).to_contain_text("Tutup")
    expect(page.locator("#service-list .k-service", has_text="Akta Kelahiran")).to_contain_text("Kuota habis")

    page.locator("#service-list .k-service", has_text="Kartu Keluarga").click()
    expect(page.locator("#detail-closed")).to_be_visible()
    expect(page.locator("#detail-closed-title")).to_have_text("Layanan ini sedang tutup")
    expect(page.locator("#detail-closed-when")).to_contain_text("Buka kembali:")
    expect(page.locator("#detail-closed-when")).to_contain_text("07.30")
    expect(page.locator("#take-btn")).to_be_hidden()
    alternatives = page.locator("#detail-alternatives .k-service")
    expect(alternatives.first).to_be_visible()
    names = alternatives.locator(".k-tile-title").all_inner_texts()
    assert KTP in names and "Kartu Keluarga" not in names and "Akta Kelahiran" not in names
    screenshot(page, "kiosk-6-closed")

    page.locator("#screen-detail [data-action=back]").click()
    page.locator("#service-list .k-service", has_text="Akta Kelahiran").click()
    expect(page.locator("#detail-closed-title")).to_have_text("Nomor antrean hari ini sudah habis")
    expect(page.locator("#detail-closed-when")).to_contain_text("Buka kembali:")
    expect(page.locator("#take-btn")).to_be_hidden()

    # An alternative leads straight to a service that issues numbers.
    page.locator("#detail-alternatives .k-service", has_text=KTP).click()
    expect(page.locator("#detail-name")).to_have_text(KTP)
    expect(page.locator("#take-btn")).to_be_visible()

    # Closed between showing the list and the tap: the API's 409 is shown plainly, no ticket.
    before = ticket_count(demo_server)
    r = httpx.patch(f"{demo_server.url}/api/v1/services/{svc[KTP]['id']}", headers=headers,
                    json={"daily_quota": 0}, timeout=30)
    assert r.status_code == 200
    page.locator("#take-btn").click()
    expect(page.locator("#detail-closed-title")).to_have_text("Nomor antrean hari ini sudah habis")
    expect(page.locator("#detail-closed-msg")).to_contain_text("Kuota layanan hari ini sudah habis")
    assert ticket_count(demo_server) == before


def test_double_tap_and_flaky_network_make_one_ticket(demo_server: Any, page: Any) -> None:
    token = make_kiosk(demo_server)
    open_kiosk(page, demo_server, token)
    before = ticket_count(demo_server)
    choose(page, "Disdukcapil", KTP)
    # Two taps in the same instant on the same button.
    page.evaluate("() => { const b = document.getElementById('take-btn'); b.click(); b.click(); }")
    wait_ticket(page)
    page.locator("#screen-ticket [data-action=home]").click()
    expect(page.locator("#screen-agencies")).to_be_visible()
    assert ticket_count(demo_server) == before + 1
    assert page.evaluate("window.__prints") == 1

    # A real double tap (two pointer clicks) on another service.
    choose(page, "Disdukcapil", "Akta Kelahiran")
    page.locator("#take-btn").dblclick()
    wait_ticket(page)
    page.locator("#screen-ticket [data-action=home]").click()
    assert ticket_count(demo_server) == before + 2

    # Flaky LAN: the server issues the ticket but the answer is lost on the way back.
    keys: list[str] = []

    def lose_first_answer(route: Any) -> None:
        keys.append(route.request.headers.get("idempotency-key", ""))
        if len(keys) == 1:
            route.fetch()  # reaches the server and issues the ticket...
            route.abort("connectionreset")  # ...but the kiosk never hears back
        else:
            route.continue_()

    page.route("**/api/v1/tickets", lose_first_answer)
    choose(page, "Disdukcapil", "Kartu Keluarga")
    page.locator("#take-btn").click()
    number, code = wait_ticket(page)
    assert len(keys) >= 2 and len(set(keys)) == 1 and keys[0].startswith("kiosk-")
    assert ticket_count(demo_server) == before + 3
    assert track(demo_server, code)["number"] == number
    assert page.evaluate("window.__prints") == 3
    page.unroute("**/api/v1/tickets")


def test_english_switch(demo_server: Any, page: Any) -> None:
    token = make_kiosk(demo_server)
    open_kiosk(page, demo_server, token)
    expect(page.locator("#h-agencies")).to_contain_text("Pilih instansi yang Anda tuju")
    page.locator(".k-lang-btn[lang=en]").click()
    expect(page.locator("#h-agencies")).to_contain_text("Choose the agency you need")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    choose(page, "Disdukcapil", KTP)
    expect(page.locator("#detail-status")).to_contain_text("Open")
    expect(page.locator("#take-btn")).to_have_text("Take a queue number")
    expect(page.locator("#screen-detail dt").first).to_have_text("Requirements")
    page.locator("#take-btn").click()
    wait_ticket(page)
    expect(page.locator("#ticket-screen .t-ahead")).to_have_text("0 ahead of you")
    expect(page.locator("#h-ticket")).to_have_text("Please take your ticket")
    # Back to Indonesian with one touch.
    page.locator(".k-lang-btn[lang=id]").click()
    expect(page.locator("#h-agencies")).to_contain_text("Pilih instansi yang Anda tuju")


def test_tracking_page_flips_to_called(demo_server: Any, browser: Any) -> None:
    token = make_kiosk(demo_server)
    ktp = services_by_name(demo_server)[KTP]
    ahead = issue(demo_server, token, ktp["id"])
    mine = issue(demo_server, token, ktp["id"])
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="id-ID",
                                is_mobile=True, has_touch=True, device_scale_factor=2)
    phone.set_default_timeout(15_000)
    page = phone.new_page()
    try:
        page.goto(f"{demo_server.url}/t/{mine['tracking_code']}?poll=500")
        expect(page.locator("#tr-number")).to_have_text(mine["number"])
        expect(page.locator("#tr-status-title")).to_have_text("Menunggu panggilan")
        expect(page.locator("#tr-status-detail")).to_have_text("1 antrean sebelum Anda")
        screenshot(page, "track-1-waiting-phone")

        officer = bearer(demo_server.token("petugas_dukcapil", DEMO_PASSWORD))
        counters = httpx.get(f"{demo_server.url}/api/v1/counters", headers=admin(demo_server),
                             timeout=30).json()
        counter = next(c for c in counters if ktp["id"] in c["service_ids"])
        base = f"{demo_server.url}/api/v1/counters/{counter['id']}"
        assert httpx.post(f"{base}/open", headers=officer, timeout=30).status_code == 200
        first = httpx.post(f"{base}/call-next", headers=officer, timeout=30).json()
        assert first["number"] == ahead["number"]
        # Live update by polling: the citizen is now first in line.
        expect(page.locator("#tr-status-detail")).to_have_text("0 antrean sebelum Anda")
        for action in ("start", "finish"):
            httpx.post(f"{demo_server.url}/api/v1/tickets/{first['id']}/{action}",
                       headers=officer, timeout=30).raise_for_status()
        called = httpx.post(f"{base}/call-next", headers=officer, timeout=30).json()
        assert called["number"] == mine["number"]
        expect(page.locator("#tr-status-title")).to_have_text(
            f"Silakan menuju loket {counter['number']}")
        expect(page.locator("#tr-status")).to_have_attribute("data-status", "called")
        screenshot(page, "track-2-called-phone")

        for action in ("start", "finish"):
            httpx.post(f"{demo_server.url}/api/v1/tickets/{called['id']}/{action}",
                       headers=officer, timeout=30).raise_for_status()
        expect(page.locator("#tr-survey-link")).to_be_visible()
        expect(page.locator("#tr-survey-link")).to_have_attribute(
            "href", f"/survey/{mine['tracking_code']}")
        expect(page.locator("#tr-status-title")).to_have_text("Layanan selesai. Terima kasih!")
        body = page.locator("body").inner_text()
        # No personal data: neither the officer's account nor name is on the public page.
        assert "petugas_dukcapil" not in body and "Petugas Disdukcapil" not in body
    finally:
        phone.close()


def test_script_service_name_renders_as_text(demo_server: Any, page: Any) -> None:
    token = make_kiosk(demo_server)
    evil = "<script>alert(1)</script>"
    ktp = services_by_name(demo_server)[KTP]
    r = httpx.patch(f"{demo_server.url}/api/v1/services/{ktp['id']}", headers=admin(demo_server),
                    json={"name": evil, "requirements": "<img src=x onerror=alert(2)>"}, timeout=30)
    assert r.status_code == 200, r.text
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    open_kiosk(page, demo_server, token)
    page.locator(".k-agency", has_text="Disdukcapil").click()
    tile = page.locator("#service-list .k-service").first
    expect(tile.locator(".k-tile-title")).to_have_text(evil)
    tile.click()
    expect(page.locator("#detail-name")).to_have_text(evil)
    expect(page.locator("#detail-requirements")).to_have_text("<img src=x onerror=alert(2)>")
    page.locator("#take-btn").click()
    _, code = wait_ticket(page)
    expect(page.locator("#ticket-screen .t-service")).to_have_text(evil)
    page.goto(f"{demo_server.url}/t/{code}")
    expect(page.locator("#tr-service")).to_have_text(evil)
    assert page.locator("script:text('alert(1)')").count() == 0
    assert dialogs == []


def test_unregistered_and_revoked_kiosk(demo_server: Any, page: Any) -> None:
    open_kiosk(page, demo_server, None)
    expect(page.locator("#screen-unregistered")).to_be_visible()
    expect(page.locator("#h-unreg")).to_have_text("Perangkat belum terdaftar")

    token = make_kiosk(demo_server)
    page.goto(f"{demo_server.url}/kiosk?token=dev_forged-token")
    expect(page.locator("#screen-unregistered")).to_be_visible()

    page.goto(f"{demo_server.url}/kiosk?token={token}")
    expect(page.locator("#screen-agencies")).to_be_visible()
    choose(page, "Disdukcapil", KTP)
    revoke(demo_server, token)
    before = ticket_count(demo_server)
    page.locator("#take-btn").click()
    expect(page.locator("#screen-unregistered")).to_be_visible()
    assert ticket_count(demo_server) == before
    # After a reload the kiosk stays locked out.
    page.goto(f"{demo_server.url}/kiosk")
    expect(page.locator("#screen-unregistered")).to_be_visible()


def test_inactivity_returns_to_start(demo_server: Any, page: Any) -> None:
    token = make_kiosk(demo_server)
    open_kiosk(page, demo_server, token, idle=5)
    choose(page, "Kantor Imigrasi", "Paspor baru")
    # Nobody touches the screen: after the idle time the kiosk shows the start again.
    expect(page.locator("#screen-agencies")).to_be_visible(timeout=20_000)
    expect(page.locator("#screen-detail")).to_be_hidden()
