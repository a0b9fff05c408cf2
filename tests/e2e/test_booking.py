"""Book on a phone, check in at the kiosk check-in page, be called at a counter."""

from __future__ import annotations

import re

import httpx
import pytest

from app.db.models import Device, Site
from app.db.session import make_engine, make_session_factory, unit_of_work
from app.services import auth as auth_svc
from tests.conftest import DEMO_PASSWORD
from tests.e2e.conftest import assert_accessible, screenshot

pytestmark = pytest.mark.browser


def _kiosk_token(database_url: str) -> str:
    """A kiosk device for the demo site, written straight into the server's database."""
    import sqlalchemy as sa

    token, token_hash = auth_svc.new_device_token()
    engine = make_engine(database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            site_id = session.scalar(sa.select(Site.id).where(Site.code == "mpp-contoh"))
            session.add(Device(site_id=site_id, kind="kiosk", name="Kiosk check-in",
                               token_hash=token_hash))
    finally:
        engine.dispose()
    return token


def test_book_on_phone_check_in_at_kiosk_called_at_counter(demo_server, browser, page):
    base = demo_server.url
    admin = {"Authorization": f"Bearer {demo_server.token('admin', DEMO_PASSWORD)}"}
    services = httpx.get(f"{base}/api/v1/services", headers=admin, timeout=30).json()
    ktp = next(s for s in services if s["code"] == "DUKCAPIL-1")
    # Five-minute slots so the next slot's check-in window (15 min before) is already open.
    r = httpx.patch(f"{base}/api/v1/services/{ktp['id']}", headers=admin, timeout=30, json={
        "booking_enabled": True, "slot_minutes": 5, "slot_capacity": 4,
        "booking_requires_contact": True})
    assert r.status_code == 200, r.text

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                has_touch=True, locale="id-ID", device_scale_factor=2)
    phone.set_default_timeout(15_000)
    try:
        p = phone.new_page()
        p.goto(f"{base}/booking")
        p.get_by_role("button", name=re.compile("Disdukcapil")).click()
        p.get_by_role("button", name=re.compile("Perekaman KTP-el")).click()
        p.wait_for_selector("#service-info >> text=Persyaratan")
        # The second free slot: the first may start while the test runs.
        first_free = p.locator(".bk-slot:not([disabled])").nth(1)
        first_free.wait_for()
        screenshot(p, "booking-phone-slots")
        first_free.click()
        # Contact data is asked for, with the consent text of UU 27/2022.
        assert "UU No. 27 Tahun 2022" in p.locator("#book-form").inner_text()
        p.fill("#name", "Budi Santoso")
        p.fill("#phone", "0812 3456 7890")
        p.get_by_role("button", name="Pesan sekarang").click()
        # The message sits beside the consent box, in plain words.
        p.wait_for_selector("#consent-error:not([hidden])")
        assert "Centang persetujuan" in p.inner_text("#consent-error")
        assert p.locator("#error").is_hidden()
        p.check("#consent")
        p.get_by_role("button", name="Pesan sekarang").click()
        p.wait_for_selector("#step-done:not([hidden])")
        code = p.inner_text("#code").replace("-", "")
        assert re.fullmatch(r"[A-Z2-9]{8}", code)
        assert p.inner_text("#status") == "Terpesan"
        p.wait_for_function("document.getElementById('qr').naturalWidth > 0")
        # The phone number never shows on the public page.
        assert "7890" not in p.inner_text("body")
        screenshot(p, "booking-phone-code")
    finally:
        phone.close()

    token = _kiosk_token(demo_server.database_url)
    page.add_init_script("window.__prints = 0; window.print = () => { window.__prints += 1; };")
    page.goto(f"{base}/kiosk/checkin?token={token}&ticket_seconds=60")
    assert "token=" not in page.url
    # Check-in is a kiosk screen: the kiosk's layout, a back button, nothing leading outside.
    page.wait_for_selector("#screen-checkin:not([hidden])")
    assert page.locator("#screen-checkin [data-action=back]").is_visible()
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(a => a.pathname)")
    assert all(h.startswith("/kiosk") for h in hrefs), hrefs
    assert_accessible(page, "kiosk check-in")
    # A USB scanner types the code and presses Enter into the focused input.
    page.keyboard.type(code.lower())
    page.keyboard.press("Enter")
    page.wait_for_selector("#screen-ticket:not([hidden])")
    slip = page.locator("#ticket-screen .ticket")
    number = slip.locator(".t-number").inner_text()
    assert number.startswith("AA-")
    assert "Perekaman KTP-el" in slip.inner_text()
    # Printed by itself like any kiosk ticket, with the wait estimate and the booking code.
    page.wait_for_function("window.__prints === 1")
    assert "antrean sebelum Anda" in slip.locator(".t-ahead").inner_text()
    assert slip.locator(".t-range").inner_text().startswith("Perkiraan tunggu")
    assert "Antrean online" in slip.locator(".t-note").inner_text()
    page.wait_for_function("document.querySelector('#ticket-screen .t-qr').complete")
    screenshot(page, "booking-kiosk-checkin")
    # Scanning again shows the same ticket rather than a second one.
    page.click("#screen-ticket [data-action=home]")
    page.wait_for_selector("#screen-agencies:not([hidden])")
    page.click("#checkin-link")
    page.wait_for_selector("#screen-checkin:not([hidden])")
    for ch in code[:4]:
        page.click(f"#ci-keys button:text-is('{ch}')")
    page.keyboard.type(code[4:])
    page.click("#ci-keys .ci-go")
    page.wait_for_selector("#screen-ticket:not([hidden])")
    assert page.locator("#ticket-screen .t-number").inner_text() == number
    # Back from check-in returns to the kiosk's start.
    page.click("#screen-ticket [data-action=home]")
    page.click("#checkin-link")
    page.click("#screen-checkin [data-action=back]")
    page.wait_for_selector("#screen-agencies:not([hidden])")

    officer = {"Authorization": f"Bearer {demo_server.token('petugas_dukcapil', DEMO_PASSWORD)}"}
    counters = httpx.get(f"{base}/api/v1/counters", headers=admin, timeout=30).json()
    counter = next(c for c in counters if ktp["id"] in c["service_ids"])
    assert httpx.post(f"{base}/api/v1/counters/{counter['id']}/open", headers=officer,
                      timeout=30).status_code == 200
    r = httpx.post(f"{base}/api/v1/counters/{counter['id']}/call-next", headers=officer,
                   timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["number"] == number and r.json()["channel"] == "booking"
    r = httpx.get(f"{base}/api/v1/bookings/{code}", timeout=30)
    assert r.json()["status"] == "checked_in"
