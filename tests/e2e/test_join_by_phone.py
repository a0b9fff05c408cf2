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
from tests.e2e.conftest import assert_accessible
from tests.support.databases import create_database, drop_database
from tests.support.providers import WhatsAppStandIn

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
    import yaml

    from tests.support.live import prepare_database, start_server

    tmp = tmp_path_factory.mktemp("join")
    url = create_database(backend, tmp)
    doc = yaml.safe_load((ROOT / "app" / "data" / "demo_mall.yaml").read_text())
    users = [u["username"] for s in doc["sites"] for u in s["users"]]
    prepare_database(url, demo=True, passwords={u: DEMO_PASSWORD for u in users})
    live = start_server(url, log_path=tmp / "server.log", MPP_OUTBOX_POLL_SECONDS="0.2",
                        **whatsapp.settings())
    try:
        yield live
    finally:
        live.stop()
        drop_database(url)


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
