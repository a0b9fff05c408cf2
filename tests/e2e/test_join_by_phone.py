"""Joining by phone, end to end: the board shows a QR code; a phone opens the URL it encodes,
takes a ticket with an opt-in number, and the WhatsApp stand-in gets the "called" message
when an officer calls the ticket."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.conftest import DEMO_PASSWORD
from tests.e2e.conftest import assert_accessible, screenshot
from tests.support.providers import WhatsAppStandIn

pytestmark = pytest.mark.xdist_group("join-by-phone")  # one module server, on one worker

ROOT = Path(__file__).resolve().parents[2]
SITE = "mpp-contoh"
KTP = "Perekaman KTP-el"


@pytest.fixture(scope="module")
def whatsapp():
    stand_in = WhatsAppStandIn().start()
    yield stand_in
    stand_in.stop()


@pytest.fixture(scope="module")
def server(backend, whatsapp, tmp_path_factory):
    from tests.support.live import demo_server

    with demo_server(backend, tmp_path_factory.mktemp("join"), MPP_OUTBOX_POLL_SECONDS="0.2",
                     **whatsapp.settings()) as live:
        yield live


def _ids(server: Any) -> tuple[int, int, int]:
    from app.db.models import Counter, Service, Site, counter_service
    from app.db.session import make_engine

    engine = make_engine(server.database_url)
    try:
        with engine.connect() as conn:
            site = conn.scalar(sa.select(Site.id).where(Site.code == SITE))
            ktp = conn.scalar(sa.select(Service.id).where(Service.site_id == site,
                                                          Service.name == KTP))
            counter = conn.scalar(
                sa.select(Counter.id).join(counter_service,
                                           counter_service.c.counter_id == Counter.id)
                .where(counter_service.c.service_id == ktp).order_by(Counter.number).limit(1))
            return site, ktp, counter
    finally:
        engine.dispose()


def test_scan_board_code_join_on_phone_and_hear_the_call(server, whatsapp, browser):
    site_id, ktp, counter_id = _ids(server)
    whatsapp.delivered.clear()  # the stand-in outlives one backend's server
    board = browser.new_page(viewport={"width": 1920, "height": 1080})
    board.goto(f"{server.url}/display?site_id={site_id}")
    box = board.locator("#join-box")
    expect(box).to_be_visible()
    expect(board.locator("#join-qr")).to_have_attribute("src", re.compile(r"/join/qr/\d+\.svg"))
    url = box.get_attribute("data-url")  # the URL the QR code encodes
    assert url and url.startswith(f"{server.url}/join/{site_id}?c=")
    qr = httpx.get(server.url + board.locator("#join-qr").get_attribute("src"))
    assert qr.status_code == 200 and qr.text.lstrip().startswith("<svg")
    board.close()

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                has_touch=True, locale="id-ID")
    page = phone.new_page()
    page.goto(url)
    expect(page.locator("#join-form")).to_be_visible()
    assert "UU No. 27 Tahun 2022" in page.locator(".join-consent").inner_text()
    assert_accessible(page, "join page")
    page.select_option("#join-service", value=str(ktp))
    page.fill("#join-phone", "0812-3456-7890")
    page.check("#join-consent")
    page.click("#join-submit")
    expect(page).to_have_url(re.compile(r"/t/[\w-]+$"))
    number = page.locator("#tr-number").inner_text().strip()
    assert re.fullmatch(r"[A-Z]{1,3}-\d{3,}", number)
    assert "3456" not in page.content()  # the phone never comes back
    taken = whatsapp.wait_for(lambda b: number in b.get("text", {}).get("body", ""))
    assert taken["to"] == "6281234567890"
    assert page.url.rsplit("/", 1)[1] in taken["text"]["body"]  # the tracking link

    token = server.token("petugas_dukcapil", DEMO_PASSWORD)
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.post(f"{server.url}/api/v1/counters/{counter_id}/open",
                      headers=headers).status_code == 200
    called = httpx.post(f"{server.url}/api/v1/counters/{counter_id}/call-next", headers=headers)
    assert called.status_code == 200 and called.json()["number"] == number
    message = whatsapp.wait_for(lambda b: "dipanggil" in b.get("text", {}).get("body", ""))
    assert message["to"] == "6281234567890"
    assert message["text"]["body"].startswith(f"Nomor {number} dipanggil ke loket ")
    expect(page.locator("#tr-status")).to_have_attribute("data-status", "called",
                                                         timeout=15_000)
    phone.close()


# --- the booking page on a phone (issue 17 "Booking (phone)", issue 20 opt-in and OTP) ------
# After the join test above: these switch on booking and a confirmed phone for Kartu Keluarga.
KK = "Kartu Keluarga"
PHONE_VIEW = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
              "locale": "id-ID"}


def _code_sent_to(whatsapp: Any, to: str) -> str:
    body = whatsapp.wait_for(lambda b: b.get("to") == to
                             and "Kode verifikasi" in b.get("text", {}).get("body", ""))
    return re.search(r"(\d{6})", body["text"]["body"]).group(1)


def _admin(server: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.token('admin', DEMO_PASSWORD)}"}


def test_booking_page_empty_state_and_language_links_on_a_phone(server, browser):
    admin = _admin(server)
    services = httpx.get(f"{server.url}/api/v1/services", headers=admin, timeout=30).json()
    bookable = [s["id"] for s in services if s["booking_enabled"]]

    def switch(on: bool) -> None:
        for sid in bookable:
            r = httpx.patch(f"{server.url}/api/v1/services/{sid}", headers=admin, timeout=30,
                            json={"booking_enabled": on})
            assert r.status_code == 200, r.text

    switch(False)
    phone = browser.new_context(**PHONE_VIEW)
    phone.set_default_timeout(10_000)
    try:
        page = phone.new_page()
        page.goto(f"{server.url}/booking")
        # No service takes bookings: say so, not "1. Pilih instansi" over nothing.
        expect(page.locator("#empty")).to_be_visible()
        expect(page.locator("#step-agency")).to_be_hidden()
        assert "Belum ada layanan yang bisa dipesan daring" in page.inner_text("#empty")
        screenshot(page, "booking-phone-empty")
        for link in page.locator(".lang-switch a").all():
            box = link.bounding_box()
            assert box and box["width"] >= 44 and box["height"] >= 44, box
        assert_accessible(page, "booking page, empty")
        page.click(".lang-switch a[href='?lang=en']")
        expect(page.locator("#empty")).to_contain_text("No service can be booked online yet")
    finally:
        phone.close()
        switch(True)


def test_booking_on_a_phone_field_errors_and_one_time_code(server, whatsapp, browser):
    admin = _admin(server)
    services = httpx.get(f"{server.url}/api/v1/services", headers=admin, timeout=30).json()
    kk = next(s for s in services if s["name"] == KK and s["code"] == "DUKCAPIL-3")
    r = httpx.patch(f"{server.url}/api/v1/services/{kk['id']}", headers=admin, timeout=30,
                    json={"booking_enabled": True, "slot_minutes": 30, "slot_capacity": 4,
                          "requires_phone_otp": True})
    assert r.status_code == 200, r.text
    phone = browser.new_context(**PHONE_VIEW)
    phone.set_default_timeout(10_000)
    try:
        page = phone.new_page()
        page.goto(f"{server.url}/booking")
        page.get_by_role("button", name=re.compile("Disdukcapil")).click()
        page.get_by_role("button", name=re.compile(KK)).click()
        page.locator(".bk-slot:not([disabled])").nth(1).click()
        form = page.locator("#book-form")
        assert "UU No. 27 Tahun 2022" in form.inner_text()
        expect(page.locator("#otp")).to_be_visible()
        # Nothing filled in: the message sits beside the phone field, in plain words.
        page.get_by_role("button", name="Pesan sekarang").click()
        expect(page.locator("#phone-error")).to_have_text("Tulis nomor telepon Anda.")
        expect(page.locator("#phone")).to_have_attribute("aria-invalid", "true")
        # A number the API refuses: its reason beside the field, not "phone: ..." in a banner.
        page.fill("#phone", "12345")
        page.check("#consent")
        page.get_by_role("button", name="Kirim kode").click()
        expect(page.locator("#phone-error")).to_contain_text("tidak bisa dipakai")
        assert "phone:" not in page.inner_text("body")
        expect(page.locator("#error")).to_be_hidden()
        assert_accessible(page, "booking form with errors")
        screenshot(page, "booking-phone-field-error")
        page.fill("#phone", "0812-3456-7801")
        page.get_by_role("button", name="Kirim kode").click()
        expect(page.locator("#otp-sent")).to_contain_text("Kode sudah dikirim")
        screenshot(page, "booking-phone-otp")
        sent = _code_sent_to(whatsapp, "6281234567801")
        page.fill("#otp-code", "000000" if sent != "000000" else "111111")
        page.get_by_role("button", name="Pesan sekarang").click()
        expect(page.locator("#otp-code-error")).to_contain_text("Kode verifikasi salah")
        page.fill("#otp-code", sent)
        page.get_by_role("button", name="Pesan sekarang").click()
        expect(page.locator("#step-done")).to_be_visible()
        expect(page.locator("#status")).to_have_text("Terpesan")
        assert "7801" not in page.inner_text("body")
        assert_accessible(page, "booking done")
        # The confirmation goes to the confirmed number.
        whatsapp.wait_for(lambda b: b.get("to") == "6281234567801"
                          and "Kode verifikasi" not in b.get("text", {}).get("body", ""))
    finally:
        phone.close()


def test_join_by_qr_with_a_one_time_code(server, whatsapp, browser):
    """Kartu Keluarga needs a confirmed phone (set here too: xdist may run this test on
    another worker, with its own server, than the booking test before it)."""
    admin = _admin(server)
    services = httpx.get(f"{server.url}/api/v1/services", headers=admin, timeout=30).json()
    kk = next(s for s in services if s["name"] == KK and s["code"] == "DUKCAPIL-3")
    r = httpx.patch(f"{server.url}/api/v1/services/{kk['id']}", headers=admin, timeout=30,
                    json={"requires_phone_otp": True})
    assert r.status_code == 200, r.text
    site_id = _ids(server)[0]
    url = httpx.get(f"{server.url}/api/v1/join/code", params={"site_id": site_id}).json()["url"]
    phone = browser.new_context(**PHONE_VIEW)
    phone.set_default_timeout(10_000)
    try:
        page = phone.new_page()
        page.goto(url)
        option = page.locator("#join-service option", has_text=KK)
        assert "perlu nomor terverifikasi" in option.inner_text()
        page.select_option("#join-service", value=option.get_attribute("value"))
        page.fill("#join-phone", "0812-3456-7802")
        page.check("#join-consent")
        page.click("#join-submit")
        expect(page.locator("#join-otp-code")).to_be_visible()
        assert_accessible(page, "join page, one-time code")
        screenshot(page, "join-phone-otp")
        page.fill("#join-otp-code", _code_sent_to(whatsapp, "6281234567802"))
        page.click("#join-submit")
        expect(page).to_have_url(re.compile(r"/t/[\w-]+$"))
        assert "7802" not in page.content()
    finally:
        phone.close()
