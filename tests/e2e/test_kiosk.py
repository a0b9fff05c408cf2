"""The touch kiosk and the public tracking page in Chromium, against a real demo server.

Each test gets its own server on a fresh demo database (open at all hours) and a kiosk device
token inserted into that database, as an admin would issue one; the phone and layout tests share
one module-scoped server (`wa_server`) whose messages go to a local WhatsApp Cloud API stand-in.
"""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import sqlalchemy as sa
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from app.db.models import Device, OutboxMessage, Service, Site, Ticket, TicketContact
from app.db.session import make_engine
from app.services.auth import new_device_token
from tests.conftest import DEMO_PASSWORD
from tests.e2e.conftest import assert_accessible, screenshot
from tests.support.providers import WhatsAppStandIn

pytestmark = pytest.mark.xdist_group("kiosk")  # one module server, on one worker

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


def open_counter_for(server: Any, service_id: int) -> dict[str, Any]:
    h = admin(server)
    counters = httpx.get(f"{server.url}/api/v1/counters", headers=h, timeout=30).json()
    counter = next(c for c in counters if service_id in c["service_ids"])
    r = httpx.post(f"{server.url}/api/v1/counters/{counter['id']}/open", headers=h, timeout=30)
    assert r.status_code == 200, r.text
    return counter


def assert_fits(page: Any, what: str) -> None:
    """The screen shown fits the viewport: nothing below the edge, nothing cut inside."""
    over = page.evaluate("""() => {
      const out = [];
      if (document.documentElement.scrollHeight > innerHeight + 1) out.push('page ' + document.documentElement.scrollHeight);
      const screen = document.querySelector('.screen:not([hidden])');
      for (const el of screen.querySelectorAll('button, h1, .k-tile, .ticket, input')) {
        if (!el.getClientRects().length || el.closest('[hidden]')) continue;
        const r = el.getBoundingClientRect();
        if (r.bottom > innerHeight + 1 || r.right > innerWidth + 1) out.push((el.id || el.className) + ' ' + Math.round(r.bottom));
        // Nor cut off by a box around it (a grid's tiles beyond its edge are paged instead).
        for (let p = el.parentElement; p && p !== screen; p = p.parentElement) {
          if (getComputedStyle(p).overflowY === 'hidden' && r.bottom > p.getBoundingClientRect().bottom + 1) {
            out.push((el.id || el.className) + ' cut by ' + (p.id || p.className)); break; }
        }
      }
      return out;
    }""")
    assert over == [], f"{what}: {over}"


def pdf_size_mm(page: Any) -> tuple[float, float]:
    """The first page's size of the printed PDF, using the page's own @page size."""
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    m = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
    assert m, "no MediaBox in PDF"
    return float(m.group(1)) * 25.4 / 72, float(m.group(2)) * 25.4 / 72


# --- tests ----------------------------------------------------------------------------------


@pytest.mark.both_engines  # the engine-specific path under the screen
@pytest.mark.parametrize("viewport", [(1080, 1920), (1920, 1080)], ids=["portrait", "landscape"])
def test_take_ticket_end_to_end(demo_server: Any, browser: Any, viewport: tuple[int, int]) -> None:
    token = make_kiosk(demo_server)
    ktp = services_by_name(demo_server)[KTP]
    open_counter_for(demo_server, ktp["id"])
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
            ".k-agency, .k-lang-btn, #checkin-link",
            "els => els.filter(e => e.offsetParent).map(e => e.getBoundingClientRect().height)")
        assert min(heights) >= 64, heights
        # One viewport: agencies page if need be (no row cut at the grid's edge), the
        # check-in button is on screen.
        assert_fits(page, "agencies")
        expect(page.locator("#checkin-link")).to_be_in_viewport()
        assert_accessible(page, f"kiosk agencies {size}")
        # Nothing on a kiosk page leads outside the kiosk.
        hrefs = page.eval_on_selector_all("a[href]", "els => els.map(a => a.pathname)")
        assert all(h.startswith("/kiosk") for h in hrefs), hrefs
        screenshot(page, f"kiosk-1-agencies-{size}")

        page.locator(".k-agency", has_text="Disdukcapil").click()
        expect(page.locator("#services-agency")).to_have_text("Disdukcapil")
        tile = page.locator("#service-list .k-service", has_text=KTP)
        expect(tile).to_contain_text("Buka")
        expect(tile).to_contain_text("2 orang menunggu")
        expect(tile).to_contain_text(re.compile(r"Sisa kuota hari ini: \d+"))
        assert_fits(page, "services")
        screenshot(page, f"kiosk-2-services-{size}")

        tile.click()
        # What the citizen needs to know before committing.
        expect(page.locator("#detail-requirements")).to_contain_text("Fotokopi Kartu Keluarga")
        expect(page.locator("#detail-fee")).to_have_text("Gratis")
        expect(page.locator("#detail-completion")).to_have_text("± 8 menit di loket")
        expect(page.locator("#detail-status")).to_contain_text("Perkiraan tunggu ± ")
        take = page.locator("#take-btn")
        assert take.bounding_box()["height"] >= 64
        assert_fits(page, "detail")
        assert_accessible(page, f"kiosk detail {size}")
        screenshot(page, f"kiosk-3-detail-{size}")

        page.locator("#priority-btn").click()
        expect(page.locator("#screen-priority")).to_be_visible()
        expect(page.locator("[data-priority]:not([hidden])")).to_have_count(5)
        assert_fits(page, "priority")
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
        assert_fits(page, "ticket")
        assert_accessible(page, f"kiosk ticket {size}")
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
    # The quota-exhausted screen fits one viewport at both kiosk sizes.
    for w, h in ((1080, 1920), (1920, 1080)):
        page.set_viewport_size({"width": w, "height": h})
        page.evaluate("window.MPPKioskFit.refit()")
        assert_fits(page, f"quota exhausted {w}x{h}")
        screenshot(page, f"kiosk-7-quota-{w}x{h}")
    page.set_viewport_size({"width": 1280, "height": 900})

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


@pytest.mark.both_engines  # the engine-specific path under the screen
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
    open_kiosk(page, demo_server, token, idle=600, paper="58")
    # The language link keeps the kiosk's setup.
    href = page.locator(".k-lang-btn[lang=en]").get_attribute("href")
    assert "idle=600" in href and "paper=58" in href and "ticket_seconds=60" in href
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


def test_language_resets_for_the_next_citizen(demo_server: Any, page: Any) -> None:
    """English sticks for one citizen only: the kiosk is Indonesian again after the printed
    ticket and after an idle return, also after a reload (the cookie follows)."""
    token = make_kiosk(demo_server)
    open_kiosk(page, demo_server, token, idle=5, ticket_seconds=2)
    page.locator(".k-lang-btn[lang=en]").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    choose(page, "Disdukcapil", KTP)
    page.locator("#take-btn").click()
    wait_ticket(page)
    expect(page.locator("#h-agencies")).to_contain_text("Pilih instansi yang Anda tuju",
                                                        timeout=20_000)
    assert "idle=5" in page.url  # the setup survived the reset
    page.reload()
    expect(page.locator("#h-agencies")).to_contain_text("Pilih instansi yang Anda tuju")
    # English on the start screen, then nobody touches it: Indonesian again.
    page.locator(".k-lang-btn[lang=en]").click()
    expect(page.locator("#h-agencies")).to_contain_text("Choose the agency you need")
    expect(page.locator("#h-agencies")).to_contain_text("Pilih instansi yang Anda tuju",
                                                        timeout=20_000)


def test_service_without_counter_says_so_and_alerts_managers(demo_server: Any, page: Any,
                                                             browser: Any) -> None:
    token = make_kiosk(demo_server)
    svc = services_by_name(demo_server)
    paspor = svc["Paspor baru"]
    open_kiosk(page, demo_server, token)
    choose(page, "Kantor Imigrasi", "Paspor baru")
    # Nobody is at a counter for it: honest, no "called soon" and no made-up estimate.
    expect(page.locator("#detail-status .k-no-counter")).to_contain_text(
        "Belum ada loket yang buka untuk layanan ini")
    expect(page.locator("#detail-status")).not_to_contain_text("Perkiraan tunggu ±")
    page.locator("#take-btn").click()
    wait_ticket(page)
    slip = page.locator("#ticket-screen .ticket")
    expect(slip.locator(".t-range")).to_have_text(
        "Perkiraan tunggu: belum diketahui (belum ada loket buka)")
    expect(slip).not_to_contain_text("segera dipanggil")
    # The managers' dashboard raises it.
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="id-ID")
    try:
        mgr = ctx.new_page()
        mgr.goto(f"{demo_server.url}/login")
        mgr.fill("input[name=username]", "admin")
        mgr.fill("input[name=password]", DEMO_PASSWORD)
        mgr.locator("form button[type=submit], form input[type=submit]").first.click()
        mgr.goto(f"{demo_server.url}/dashboard")
        alert = mgr.locator(f"#alert-list li.unserved[data-service='{paspor['id']}']")
        expect(alert).to_contain_text("tidak ada loket buka")
    finally:
        ctx.close()


def test_large_text_and_spoken_guidance(demo_server: Any, page: Any) -> None:
    token = make_kiosk(demo_server)
    page.set_viewport_size({"width": 1080, "height": 1920})  # a portrait kiosk
    open_kiosk(page, demo_server, token, idle=25)
    before = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    page.locator("#a11y-large").click()
    expect(page.locator("#a11y-large")).to_have_attribute("aria-pressed", "true")
    after = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    assert after >= before * 1.25, (before, after)
    bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert bg == "rgb(0, 0, 0)"
    assert_accessible(page, "kiosk large text")
    screenshot(page, "kiosk-8-large-text")
    page.locator("#a11y-large").click()  # (large text with guidance together: layout open)
    # Spoken guidance: the first touch reads a button aloud (Indonesian), the second chooses.
    page.locator("#a11y-voice").click()
    spoken = lambda: [e["text"] for e in page.evaluate("window.__kioskSpeech")]  # noqa: E731
    assert "Panduan suara aktif" in spoken()[-1]
    tile = page.locator(".k-agency", has_text="Disdukcapil")
    tile.click()
    if not page.locator("#screen-services").is_visible():
        tile.click()  # the first touch read it aloud; the second chooses it
    expect(page.locator("#screen-services")).to_be_visible()
    page.wait_for_function("() => window.__kioskSpeech.some(e => e.text.includes('Pilih layanan'))")
    assert page.evaluate(
        "speechSynthesis && 'speak' in speechSynthesis")  # the board's engine (Web Speech API)
    # Nobody touches it: the next citizen gets the ordinary kiosk.
    expect(page.locator("#screen-agencies")).to_be_visible(timeout=60_000)
    expect(page.locator("#a11y-voice")).to_have_attribute("aria-pressed", "false")


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


# --- the optional phone (issue 20), on one shared server with a WhatsApp stand-in ---------------

PHONE_TYPED = "081234567890"
PHONE_E164 = "6281234567890"


@pytest.fixture(scope="module")
def whatsapp() -> Any:
    stand_in = WhatsAppStandIn().start()
    yield stand_in
    stand_in.stop()


@pytest.fixture(scope="module")
def wa_server(backend: str, whatsapp: Any, tmp_path_factory: Any) -> Any:
    """One demo server for this module's phone and layout tests; its WhatsApp provider is the
    stand-in, which reports delivery back to the server's status webhook."""
    from tests.support.live import demo_server

    with demo_server(backend, tmp_path_factory.mktemp("kiosk-wa"), MPP_OUTBOX_POLL_SECONDS="0.2",
                     **whatsapp.settings()) as live:
        whatsapp.callback_url = f"{live.url}/api/v1/notify/whatsapp/status"
        try:
            yield live
        finally:
            whatsapp.callback_url = None


@pytest.fixture
def kiosk_page(browser: Any) -> Any:
    ctx = browser.new_context(viewport={"width": 1080, "height": 1920}, locale="id-ID")
    ctx.set_default_timeout(10_000)
    yield ctx.new_page()
    ctx.close()


def press_digits(page: Any, digits: str) -> None:
    for d in digits:
        page.locator(f"#phone-keys [data-digit='{d}']").click()


def test_phone_opt_in_on_the_kiosk_sends_ticket_taken(wa_server: Any, whatsapp: Any,
                                                     kiosk_page: Any) -> None:
    page = kiosk_page
    token = make_kiosk(wa_server)
    open_kiosk(page, wa_server, token)
    choose(page, "Disdukcapil", KTP)
    page.locator("#take-btn").click()
    # The phone keypad comes after the service: optional, "Lewati" is the big default.
    expect(page.locator("#screen-phone")).to_be_visible()
    skip = page.locator("#phone-skip")
    expect(skip).to_be_visible()
    assert "k-btn-primary" in (skip.get_attribute("class") or "")
    assert skip.bounding_box()["height"] >= 96
    assert page.locator("#phone-keys button").first.bounding_box()["height"] >= 64
    expect(page.locator("#phone-consent-row")).to_contain_text("UU No. 27 Tahun 2022")
    assert_fits(page, "phone portrait")
    assert_accessible(page, "kiosk phone")
    screenshot(page, "kiosk-9-phone-1080x1920")
    before = ticket_count(wa_server)
    # A number that cannot be one: said plainly in the kiosk's language, no ticket.
    press_digits(page, "99999999999")
    expect(page.locator("#phone-display")).to_have_text("9999 9999 999")
    page.locator("#phone-consent").check()
    page.locator("#phone-send").click()
    expect(page.locator("#phone-msg")).to_have_text(
        "Nomor ponsel tidak valid. Periksa lagi, contoh 0812 3456 7890.")
    expect(page.locator("#screen-phone")).to_be_visible()
    assert ticket_count(wa_server) == before
    page.locator("#phone-keys [data-key=clear]").click()
    press_digits(page, PHONE_TYPED + "5")
    page.locator("#phone-keys [data-key=back]").click()
    expect(page.locator("#phone-display")).to_have_text("0812 3456 7890")
    page.locator("#phone-consent").uncheck()
    page.locator("#phone-send").click()  # consent is asked for, not assumed
    expect(page.locator("#phone-msg")).to_contain_text("persetujuan")
    page.locator("#phone-consent").check()
    page.locator("#phone-send").click()
    number, code = wait_ticket(page)
    page.wait_for_function("window.__prints === 1")
    # Masked on the screen, not on paper at all.
    expect(page.locator("#ticket-screen .t-notify")).to_have_text(
        "Pemberitahuan WhatsApp/SMS ke 0812*****890")
    for where in ("#main", "#print-area"):
        text = page.locator(where).inner_text() if where == "#main" else \
            page.locator(where).text_content()
        assert "3456" not in text and PHONE_E164 not in text, where
    assert "3456" not in page.locator("#print-area").inner_html()
    expect(page.locator("#print-area .t-notify")).to_have_text("Pemberitahuan WhatsApp/SMS aktif")
    # The contact and its consent were recorded with the ticket; "taken" went out by WhatsApp.
    row = db_exec(wa_server, lambda s: s.execute(
        sa.select(TicketContact.phone, TicketContact.consent_at, TicketContact.consent_version)
        .join(Ticket, Ticket.id == TicketContact.ticket_id)
        .where(Ticket.tracking_code == code)).one())
    assert row.phone == PHONE_E164 and row.consent_at is not None and row.consent_version
    taken = whatsapp.wait_for(lambda b: number in b.get("text", {}).get("body", ""))
    assert taken["to"] == PHONE_E164 and code in taken["text"]["body"]
    # The stand-in reports "sent" and "delivered" to the status webhook, as Meta does; the
    # app keeps the delivery status.
    # The relay records the provider's id once the send has returned: wait for it.
    deadline = time.monotonic() + 15
    while True:
        ref = db_exec(wa_server, lambda s: s.scalar(sa.select(OutboxMessage.provider_ref).where(
            OutboxMessage.topic == "ticket_taken", OutboxMessage.target == PHONE_E164)))
        if ref or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert ref and ref.startswith("wamid.")
    assert whatsapp.wait_for_callback(ref, "delivered") == 200
    status = db_exec(wa_server, lambda s: s.execute(sa.select(
        OutboxMessage.status, OutboxMessage.delivered_at).where(
        OutboxMessage.provider_ref == ref)).one())
    assert status.status == "delivered" and status.delivered_at is not None
    # The next citizen's keypad is empty again.
    page.locator("#screen-ticket [data-action=home]").click()
    choose(page, "Disdukcapil", "Kartu Keluarga")
    page.locator("#take-btn").click()
    expect(page.locator("#phone-display")).not_to_contain_text("3456")
    expect(page.locator("#phone-consent")).not_to_be_checked()


def test_skip_issues_without_contact_and_idle_returns(wa_server: Any, kiosk_page: Any) -> None:
    page = kiosk_page
    token = make_kiosk(wa_server)
    open_kiosk(page, wa_server, token, idle=5)
    choose(page, "Disdukcapil", "Akta Kelahiran")
    page.locator("#take-btn").click()
    expect(page.locator("#screen-phone")).to_be_visible()
    page.locator("#phone-skip").click()
    _, code = wait_ticket(page)
    expect(page.locator("#ticket-screen .t-notify")).to_be_hidden()
    contacts = db_exec(wa_server, lambda s: s.scalar(
        sa.select(sa.func.count()).select_from(TicketContact)
        .join(Ticket, Ticket.id == TicketContact.ticket_id).where(Ticket.tracking_code == code)))
    assert contacts == 0
    # Nobody answers the phone question: the kiosk returns to the start by itself.
    page.locator("#screen-ticket [data-action=home]").click()
    choose(page, "Disdukcapil", "Akta Kelahiran")
    page.locator("#take-btn").click()
    press_digits(page, "0812")
    expect(page.locator("#screen-agencies")).to_be_visible(timeout=20_000)
    choose(page, "Disdukcapil", "Akta Kelahiran")
    page.locator("#take-btn").click()
    expect(page.locator("#phone-display")).not_to_contain_text("0812")


def test_service_needing_a_confirmed_phone_asks_for_the_code(wa_server: Any, whatsapp: Any,
                                                            kiosk_page: Any) -> None:
    page = kiosk_page
    token = make_kiosk(wa_server)
    name = "Pindah/Datang"
    db_exec(wa_server, lambda s: s.execute(sa.update(Service).where(Service.name == name)
                                           .values(requires_phone_otp=True)))
    sid = services_by_name(wa_server)[name]["id"]
    # A tap without a phone (as an old kiosk page would send it) is refused, plainly.
    r = httpx.post(f"{wa_server.url}/api/v1/tickets", json={"service_id": sid},
                   headers=bearer(token), timeout=30)
    assert r.status_code == 422 and r.json()["error"]["code"] == "phone_required"
    open_kiosk(page, wa_server, token)
    choose(page, "Disdukcapil", name)
    page.locator("#take-btn").click()
    expect(page.locator("#phone-required")).to_be_visible()
    expect(page.locator("#phone-skip")).to_be_hidden()
    press_digits(page, "081298765432")
    page.locator("#phone-consent").check()
    page.locator("#phone-send").click()
    expect(page.locator("#h-phone")).to_have_text("Masukkan kode verifikasi")
    expect(page.locator("#phone-sub")).to_contain_text("0812*****432")
    sent = whatsapp.wait_for(lambda b: b.get("to") == "6281298765432"
                             and "Kode verifikasi" in b.get("text", {}).get("body", ""))
    otp = re.search(r"\b(\d{6})\b", sent["text"]["body"]).group(1)
    press_digits(page, "000000" if otp != "000000" else "111111")
    page.locator("#phone-send").click()
    expect(page.locator("#phone-msg")).to_have_text(
        "Kode verifikasi salah atau kedaluwarsa. Coba lagi.")
    page.locator("#phone-keys [data-key=clear]").click()
    press_digits(page, otp)
    page.locator("#phone-send").click()
    _, code = wait_ticket(page)
    verified = db_exec(wa_server, lambda s: s.scalar(
        sa.select(TicketContact.verified).join(Ticket, Ticket.id == TicketContact.ticket_id)
        .where(Ticket.tracking_code == code)))
    assert verified is True


# --- one viewport for every screen, large text too (issue 17) -----------------------------------

SIZES = ((1080, 1920), (1920, 1080))


def resize(page: Any, w: int, h: int) -> None:
    page.set_viewport_size({"width": w, "height": h})
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => { "
                  "window.MPPKioskFit.refit(); requestAnimationFrame(r); }))")


def every_tile(page: Any, grid: str, what: str) -> list[str]:
    """The tiles of `grid`, page by page: each page fits the viewport, uncut; back to page 1."""
    seen: list[str] = []
    nxt = page.locator(f"{grid} + .k-pager .k-page-next")
    for _ in range(30):
        assert_fits(page, what)
        shown = page.locator(f"{grid} > .k-tile:not(.k-paged-out)")
        assert shown.count() >= 1, f"{what}: an empty page"
        seen += shown.evaluate_all("els => els.map(e => e.dataset.agencyId || e.dataset.serviceId)")
        if not nxt.is_visible() or nxt.is_disabled():
            break
        nxt.click()
    prev = page.locator(f"{grid} + .k-pager .k-page-prev")
    while prev.is_visible() and not prev.is_disabled():
        prev.click()
    return seen


def test_every_screen_fits_one_viewport_with_large_text_too(wa_server: Any, browser: Any) -> None:
    token = make_kiosk(wa_server, "Kiosk layout")
    full = "Cetak ulang KTP-el"  # sold out today: the quota screen with its alternatives
    db_exec(wa_server, lambda s: s.execute(sa.update(Service).where(Service.name == full)
                                           .values(daily_quota=0)))
    svc = services_by_name(wa_server)
    agencies = {str(s["agency"]["id"]) for s in svc.values()}
    disdukcapil = {str(s["id"]) for s in svc.values() if s["agency"]["name"] == "Disdukcapil"}
    ctx = browser.new_context(viewport={"width": 1080, "height": 1920}, locale="id-ID")
    ctx.set_default_timeout(10_000)
    page = ctx.new_page()
    try:
        open_kiosk(page, wa_server, token, idle=600)
        for large in (False, True):
            for w, h in SIZES:
                tag = f"{w}x{h}{' large' if large else ''}"
                resize(page, w, h)
                expect(page.locator("#screen-agencies")).to_be_visible()
                if large:
                    page.locator("#a11y-large").click()
                    expect(page.locator("body")).to_have_class(re.compile(r"\bk-large\b"))
                    resize(page, w, h)
                seen = every_tile(page, "#agency-list", f"agencies {tag}")
                assert sorted(seen) == sorted(agencies), tag  # every agency, once
                label = page.locator("#agency-list + .k-pager .k-page-label")
                if label.is_visible():
                    # The catalog's refresh (every 20 s) keeps the page the citizen is on,
                    # and no frame shows the whole list cut at the bottom.
                    page.locator("#agency-list + .k-pager .k-page-next").click()
                    on = label.inner_text()
                    page.evaluate("window.MPPKiosk.refresh()")
                    assert_fits(page, f"agencies refreshed {tag}")
                    expect(label).to_have_text(on)
                    page.locator("#agency-list + .k-pager .k-page-prev").click()
                expect(page.locator("#checkin-link")).to_be_in_viewport()
                if large:
                    screenshot(page, f"kiosk-10-large-agencies-{w}x{h}")
                page.locator(".k-agency", has_text="Disdukcapil").click()
                expect(page.locator("#screen-services")).to_be_visible()
                assert sorted(every_tile(page, "#service-list", f"services {tag}")) == sorted(
                    disdukcapil)
                page.locator("#service-list .k-service", has_text=full).click()
                expect(page.locator("#detail-closed-when")).to_contain_text("Buka kembali")
                assert_fits(page, f"quota exhausted {tag}")
                page.locator("#screen-detail [data-action=back]").click()
                page.locator("#service-list .k-service", has_text=KTP).click()
                expect(page.locator("#take-btn")).to_be_visible()
                assert_fits(page, f"detail {tag}")
                page.locator("#priority-btn").click()
                expect(page.locator("#screen-priority")).to_be_visible()
                assert_fits(page, f"priority {tag}")
                page.locator("#screen-priority [data-action=back]").click()
                # A visit of two services, then its ticket (which lists both steps).
                page.locator("#add-step-btn").click()
                expect(page.locator("#visit-banner")).to_be_visible()
                assert_fits(page, f"agencies, adding a step {tag}")
                page.locator(".k-agency", has_text="Disdukcapil").click()
                page.locator("#service-list .k-service", has_text="Kartu Keluarga").click()
                expect(page.locator("#screen-visit")).to_be_visible()
                assert_fits(page, f"visit {tag}")
                page.locator("#visit-take-btn").click()
                expect(page.locator("#screen-phone")).to_be_visible()
                assert_fits(page, f"phone {tag}")
                if large:
                    screenshot(page, f"kiosk-10-large-phone-{w}x{h}")
                page.locator("#phone-skip").click()
                wait_ticket(page)
                assert_fits(page, f"ticket {tag}")
                page.locator("#screen-ticket [data-action=home]").click()  # resets large text
                expect(page.locator("#screen-agencies")).to_be_visible()
                if large:
                    page.locator("#a11y-large").click()
                page.locator("#checkin-link").click()
                expect(page.locator("#screen-checkin")).to_be_visible()
                assert_fits(page, f"check-in {tag}")
                page.locator("#screen-checkin [data-action=back]").click()
                if large:
                    page.locator("#a11y-large").click()  # off: the next round starts plain
    finally:
        ctx.close()
