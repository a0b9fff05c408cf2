"""/admin/integrasi in Chromium against a real server whose background fan-out and outbox relay
deliver to a loopback receiver; partner keys made, used and revoked from the page."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.test_dashboard import Demo, sign_in
from tests.integration.test_webhooks import Receiver

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("admin-integration")]


@pytest.fixture(scope="module")
def hook_server(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.support.live import demo_server

    with demo_server(backend, tmp_path_factory.mktemp("integration"),
                     MPP_WEBHOOK_ALLOW_PRIVATE_TARGETS="true", MPP_OUTBOX_POLL_SECONDS="0.2",
                     MPP_WEBHOOK_FANOUT_SECONDS="0.2") as server:
        yield server


def test_webhook_and_partner_key_from_admin(hook_server: Any, page: Any) -> None:
    receiver = Receiver()
    try:
        demo = Demo(hook_server)
        sign_in(page, demo.url, "admin", "/admin/integrasi")
        form = page.locator("#wh-form")
        form.locator("input[name=url]").fill(receiver.url)
        form.locator("input[name=events][value='ticket.issued']").check()
        form.locator("input[name=events][value='ticket.called']").check()
        form.locator("button[type=submit]").click()
        expect(page.locator("#wh-secret")).to_be_visible()
        secret = page.locator("#wh-secret-value").text_content() or ""
        assert secret.startswith("whsec_")
        receiver.secret = secret
        expect(page.locator("#wh-table tbody tr")).to_have_count(1)

        ktp = demo.services("DUKCAPIL")[0]
        ticket = demo.issue(ktp["id"])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not receiver.delivered():
            time.sleep(0.2)
        got = receiver.delivered()
        assert got and got[0]["verified"], receiver.requests
        assert got[0]["body"]["type"] == "ticket.issued"
        assert got[0]["body"]["data"]["number"] == ticket["number"]

        page.locator("#wh-table tbody tr button", has_text="Log").click()
        row = page.locator("#wh-log-table tbody tr").first
        expect(row).to_have_attribute("data-status", "delivered")
        expect(row.locator("td").nth(4)).to_have_text("204")

        pk = page.locator("#pk-form")
        pk.locator("input[name=name]").fill("Dasbor kota")
        pk.locator("input[name=scopes][value='read:stats']").check()
        pk.locator("button[type=submit]").click()
        expect(page.locator("#pk-secret")).to_be_visible()
        key = page.locator("#pk-secret-value").text_content() or ""
        assert key.startswith("mpk_")
        r = httpx.get(demo.url + "/api/v1/stats/summary",
                      headers={"Authorization": f"Bearer {key}"}, timeout=30)
        assert r.status_code == 200, r.text
        page.reload()
        krow = page.locator("#pk-table tbody tr").first
        expect(krow.locator(".pk-uses")).to_have_text("1")
        krow.locator("button", has_text="Cabut").click()
        expect(page.locator("#pk-table tbody tr .pk-status").first).to_have_text("Dicabut")
        r = httpx.get(demo.url + "/api/v1/stats/summary",
                      headers={"Authorization": f"Bearer {key}"}, timeout=30)
        assert r.status_code == 401
        assert key not in page.content()  # shown once, gone after a reload
    finally:
        receiver.close()
