"""/admin in a real browser: every form saves through the API, and each refused value shows the
API's message next to its field with nothing half-saved; managers stay inside their agency."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot
from tests.support.live import ADMIN_PASSWORD

pytestmark = pytest.mark.browser
PASSWORD = "sandi-uji-12345"


class Mall:
    """A small mall made through the REST API of a fresh live server."""

    def __init__(self, server: Any) -> None:
        self.url = server.url
        self.h = {"Authorization": f"Bearer {server.token()}"}
        self.site = self.post("/api/v1/sites", {"code": "mpp-uji", "name": "MPP Uji",
                                                "prefill_holidays": False})
        self.duk = self.post("/api/v1/agencies", {"site_id": self.site["id"], "code": "DUK",
                                                  "name": "Disdukcapil", "floor": "1"})
        self.imi = self.post("/api/v1/agencies", {"site_id": self.site["id"], "code": "IMI",
                                                  "name": "Imigrasi", "floor": "2"})
        self.ktp = self.post("/api/v1/services", {
            "agency_id": self.duk["id"], "code": "KTP", "name": "Perekaman KTP-el",
            "prefix": "A", "daily_quota": 150, "typical_minutes": 8,
            "opening_hours": {d: [["07:30", "16:00"]] for d in ("mon", "tue", "wed", "thu")}})
        self.kk = self.post("/api/v1/services", {"agency_id": self.duk["id"], "code": "KK",
                                                 "name": "Kartu Keluarga", "prefix": "K"})
        self.paspor = self.post("/api/v1/services", {"agency_id": self.imi["id"], "code": "PAS",
                                                     "name": "Paspor baru", "prefix": "P",
                                                     "daily_quota": 30})

    def post(self, path: str, body: dict[str, Any]) -> Any:
        r = httpx.post(self.url + path, json=body, headers=self.h, timeout=30)
        assert r.status_code in (200, 201), r.text
        return r.json()

    def get(self, path: str, headers: dict[str, str] | None = None) -> Any:
        r = httpx.get(self.url + path, headers=headers or self.h, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()


def sign_in(page: Any, base: str, username: str, password: str, target: str = "/admin") -> None:
    page.goto(f"{base}/login?next={target}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{target}")
    page.wait_for_selector("#admin-table, #retention-form, #audit-filter")


def field_error(page: Any, field: str) -> str:
    sel = f'#admin-form .field[data-field="{field}"] .field-error'
    page.wait_for_selector(sel + ":not(:empty)")
    return str(page.text_content(sel))


def row(page: Any, item_id: int) -> Any:
    return page.locator(f'#admin-table tr[data-id="{item_id}"]')


def submit(page: Any) -> None:
    page.click("#admin-form button[type=submit]")


def test_service_form_messages_and_save(live_server: Any, page: Any) -> None:
    mall = Mall(live_server)
    page.on("dialog", lambda d: d.accept())
    sign_in(page, mall.url, "admin", ADMIN_PASSWORD)
    screenshot(page, "admin-services")
    row(page, mall.kk["id"]).locator("[data-action=edit]").click()
    # Prefix clash within the site.
    page.fill('#admin-form [name="prefix"]', "A")
    submit(page)
    assert field_error(page, "prefix") == "Prefiks 'A' sudah dipakai layanan lain di lokasi ini"
    # I and O are refused (they read as 1 and 0).
    page.fill('#admin-form [name="prefix"]', "KO")
    submit(page)
    page.wait_for_function("document.querySelector('#admin-form .field[data-field=prefix] "
                           ".field-error').textContent.includes('I atau O')")
    page.fill('#admin-form [name="prefix"]', "K")
    # Quota not negative.
    page.fill('#admin-form [name="daily_quota"]', "-5")
    submit(page)
    assert field_error(page, "daily_quota") == "Kuota tidak boleh negatif"
    assert page.text_content('#admin-form .field[data-field="prefix"] .field-error') == ""
    page.fill('#admin-form [name="daily_quota"]', "80")
    # Closing after opening, in the weekly hours editor.
    page.uncheck("#admin-form .always-open")
    mon = page.locator('#admin-form .hours-day[data-day="mon"]')
    mon.locator(".add-range").click()
    mon.locator(".range-open").fill("16:00")
    mon.locator(".range-close").fill("07:30")
    submit(page)
    assert field_error(page, "opening_hours") == (
        "Senin: jam tutup harus setelah jam buka (16:00-07:30)")
    screenshot(page, "admin-service-form")
    # Nothing half-saved: the quota typed before is not stored.
    assert mall.get(f"/api/v1/services/{mall.kk['id']}")["daily_quota"] is None
    mon.locator(".range-close").fill("20:00")
    # Two ranges on Friday (a break for Friday prayers).
    fri = page.locator('#admin-form .hours-day[data-day="fri"]')
    fri.locator(".add-range").click()
    fri.locator(".add-range").click()
    fri.locator(".range-open").nth(0).fill("07:30")
    fri.locator(".range-close").nth(0).fill("11:30")
    fri.locator(".range-open").nth(1).fill("13:00")
    fri.locator(".range-close").nth(1).fill("16:30")
    page.fill('#admin-form [name="fee"]', "Gratis")
    submit(page)
    page.wait_for_selector('#page-ok:has-text("Tersimpan: Kartu Keluarga")')
    saved = mall.get(f"/api/v1/services/{mall.kk['id']}")
    assert saved["daily_quota"] == 80 and saved["fee"] == "Gratis"
    assert saved["opening_hours"] == {"mon": [["16:00", "20:00"]],
                                      "fri": [["07:30", "11:30"], ["13:00", "16:30"]]}
    # The table reloads after the "saved" message: wait for it instead of reading at once.
    expect(row(page, mall.kk["id"]).locator('[data-col="daily_quota"]')).to_have_text("80")
    # A new service, then deactivate it.
    page.click("#add-btn")
    page.select_option('#admin-form [name="agency_id"]', str(mall.imi["id"]))
    page.fill('#admin-form [name="code"]', "PAS2")
    page.fill('#admin-form [name="name"]', "Penggantian paspor")
    page.fill('#admin-form [name="prefix"]', "P")
    submit(page)
    assert field_error(page, "prefix").startswith("Prefiks 'P' sudah dipakai")
    page.fill('#admin-form [name="prefix"]', "PB")
    submit(page)
    page.wait_for_selector('#page-ok:has-text("Tersimpan: Penggantian paspor")')
    created = [s for s in mall.get("/api/v1/services") if s["code"] == "PAS2"]
    assert len(created) == 1 and created[0]["prefix"] == "PB"
    row(page, created[0]["id"]).locator("[data-action=deactivate]").click()
    # Never used by a ticket, so it is removed outright (with tickets it would stay inactive).
    page.wait_for_selector('#page-ok:has-text("Dinonaktifkan")')
    assert not [s for s in mall.get("/api/v1/services") if s["code"] == "PAS2"]


def test_counters_users_and_agencies(live_server: Any, page: Any) -> None:
    mall = Mall(live_server)
    page.on("dialog", lambda d: d.accept())
    sign_in(page, mall.url, "admin", ADMIN_PASSWORD, "/admin/agencies")
    row(page, mall.imi["id"]).locator("[data-action=edit]").click()
    page.fill('#admin-form [name="color"]', "biru")
    submit(page)
    assert field_error(page, "color") == "Warna harus #RRGGBB"
    page.fill('#admin-form [name="color"]', "#0b5cad")
    page.fill('#admin-form [name="code"]', "DUK")
    submit(page)
    assert field_error(page, "code") == "Kode 'DUK' sudah dipakai"
    page.fill('#admin-form [name="code"]', "IMI")
    page.fill('#admin-form [name="floor"]', "3")
    submit(page)
    page.wait_for_selector('#page-ok:has-text("Tersimpan: Imigrasi")')
    imi = mall.get(f"/api/v1/agencies/{mall.imi['id']}")
    assert (imi["color"], imi["floor"]) == ("#0b5cad", "3")

    page.goto(mall.url + "/admin/counters")
    page.wait_for_selector("#admin-table")
    page.click("#add-btn")
    page.select_option('#admin-form [name="agency_id"]', str(mall.duk["id"]))
    page.fill('#admin-form [name="name"]', "Loket 1")
    page.fill('#admin-form [name="number"]', "0")
    # Only this site's services are offered; pick both of Dukcapil's.
    page.check(f'#f-service_ids input[value="{mall.ktp["id"]}"]')
    page.check(f'#f-service_ids input[value="{mall.kk["id"]}"]')
    submit(page)
    assert field_error(page, "number") == "Minimal 1"
    page.fill('#admin-form [name="number"]', "1")
    page.fill('#admin-form [name="zone"]', "A")
    submit(page)
    page.wait_for_selector('#page-ok:has-text("Tersimpan: Loket 1")')
    counters = mall.get("/api/v1/counters")
    assert len(counters) == 1 and counters[0]["service_ids"] == sorted([mall.ktp["id"],
                                                                        mall.kk["id"]])
    screenshot(page, "admin-counters")

    page.goto(mall.url + "/admin/users")
    page.wait_for_selector("#admin-table")
    page.click("#add-btn")
    page.fill('#admin-form [name="username"]', "petugas-duk")
    page.fill('#admin-form [name="full_name"]', "Petugas Dukcapil")
    page.select_option('#admin-form [name="role"]', "officer")
    page.fill('#admin-form [name="password"]', PASSWORD)
    submit(page)
    assert field_error(page, "agency_id") == "petugas loket harus punya instansi"
    page.select_option('#admin-form [name="agency_id"]', str(mall.duk["id"]))
    submit(page)
    page.wait_for_selector('#page-ok:has-text("Tersimpan: petugas-duk")')
    user = [u for u in mall.get("/api/v1/users") if u["username"] == "petugas-duk"][0]
    assert user["agency_id"] == mall.duk["id"] and user["role"] == "officer"
    # Reset the password, then sign in with the new one over the API.
    row(page, user["id"]).locator("[data-action=reset-password]").click()
    page.fill('#admin-form [name="password"]', "sandi-baru-67890")
    submit(page)
    page.wait_for_selector('#page-ok:has-text("Kata sandi diganti")')
    r = httpx.post(mall.url + "/api/v1/auth/token",
                   data={"username": "petugas-duk", "password": "sandi-baru-67890"})
    assert r.status_code == 200
    row(page, user["id"]).locator("[data-action=deactivate]").click()
    page.wait_for_selector('#page-ok:has-text("Dinonaktifkan")')
    r = httpx.post(mall.url + "/api/v1/auth/token",
                   data={"username": "petugas-duk", "password": "sandi-baru-67890"})
    assert r.status_code == 401
    screenshot(page, "admin-users")


def test_holidays_devices_and_audit(live_server: Any, page: Any, browser: Any) -> None:
    mall = Mall(live_server)
    page.on("dialog", lambda d: d.accept())
    sign_in(page, mall.url, "admin", ADMIN_PASSWORD, "/admin/holidays")
    page.click("#add-btn")
    page.fill('#admin-form [name="day"]', "2026-12-24")
    page.locator("#f-ranges .add-range").click()
    page.locator("#f-ranges .range-open").fill("12:00")
    page.locator("#f-ranges .range-close").fill("07:30")
    page.fill('#admin-form [name="note"]', "Cuti bersama")
    submit(page)
    assert field_error(page, "ranges") == "jam tutup harus setelah jam buka (12:00-07:30)"
    page.locator("#f-ranges .range-open").fill("07:30")
    page.locator("#f-ranges .range-close").fill("12:00")
    submit(page)
    page.wait_for_selector('#admin-table tr[data-day="2026-12-24"]')
    page.click("#add-btn")
    page.fill('#admin-form [name="day"]', "2026-12-25")
    page.fill('#admin-form [name="note"]', "Hari Raya Natal")
    submit(page)
    page.wait_for_selector('#admin-table tr[data-day="2026-12-25"]')
    days = mall.get(f"/api/v1/sites/{mall.site['id']}/special-days")
    assert [(d["day"], d["ranges"], d["closed"]) for d in days] == [
        ("2026-12-24", [["07:30", "12:00"]], False), ("2026-12-25", [], True)]
    assert page.locator('#admin-table tr[data-day="2026-12-25"] [data-col="ranges"]'
                        ).text_content() == "Tutup sepanjang hari"
    screenshot(page, "admin-holidays")

    # A kiosk device: the token and URL are shown once; the URL signs the kiosk in.
    page.goto(mall.url + "/admin/devices")
    page.wait_for_selector("#admin-form")
    page.fill('#admin-form [name="name"]', "Kiosk Lobi")
    submit(page)
    page.wait_for_selector("#issued-url")
    url = str(page.text_content("#issued-url"))
    token = str(page.text_content("#issued-token"))
    assert url == f"{mall.url}/kiosk?token={token}" and token.startswith("dev_")
    screenshot(page, "admin-devices")
    r = httpx.get(mall.url + "/kiosk/api/device", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    kiosk = browser.new_context(viewport={"width": 1080, "height": 1920})
    try:
        kpage = kiosk.new_page()
        kpage.goto(url)
        kpage.wait_for_function("!location.search.includes('token')")
    finally:
        kiosk.close()
    # A survey tablet is bound to one counter (issue 16 item 5): its link opens /survey.
    counter = mall.post("/api/v1/counters", {"agency_id": mall.ktp["agency_id"],
                                             "name": "Loket Tablet", "number": 7,
                                             "service_ids": [mall.ktp["id"]]})
    page.reload()
    page.wait_for_selector("#admin-form")
    page.select_option('#admin-form [name="kind"]', "tablet")
    page.select_option('#admin-form [name="counter_id"]', str(counter["id"]))
    page.fill('#admin-form [name="name"]', "Tablet Loket 7")
    submit(page)
    page.wait_for_function("document.querySelector('#issued-url') &&"
                           " document.querySelector('#issued-url').textContent.includes('/survey')")
    tablet_token = str(page.text_content("#issued-token"))
    assert page.text_content("#issued-url") == f"{mall.url}/survey?token={tablet_token}"
    r = httpx.get(mall.url + "/api/v1/surveys/tablet",
                  headers={"Authorization": f"Bearer {tablet_token}"})
    assert r.status_code == 200 and r.json()["counter"]["id"] == counter["id"]
    device = [d for d in mall.get("/api/v1/devices") if d["name"] == "Kiosk Lobi"][0]
    page.reload()
    page.wait_for_selector(f'#admin-table tr[data-id="{device["id"]}"]')
    assert token not in page.content()
    row(page, device["id"]).locator("[data-action=revoke]").click()
    page.wait_for_selector(f'#admin-table tr[data-id="{device["id"]}"].inactive')
    r = httpx.get(mall.url + "/kiosk/api/device", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401

    # The audit log shows these changes; filters narrow it down.
    page.goto(mall.url + "/admin/audit")
    page.wait_for_selector("#admin-table tbody tr")
    page.select_option("#q-entity", "device")
    page.click("#audit-filter button[type=submit]")
    rows = page.locator("#admin-table tbody tr")
    expect(rows).to_have_count(3)  # the kiosk created and revoked, the tablet created
    assert [rows.nth(i).get_attribute("data-action") for i in range(3)] == [
        "revoke", "create", "create"]
    # Sentences with names, not codes, ids or JSON.
    revoke_row = page.locator('#admin-table tr[data-action="revoke"]')
    expect(revoke_row.locator("[data-col=action]")).to_have_text(
        re.compile(r"^admin mencabut token perangkat \S"))
    expect(revoke_row.locator("[data-col=action]")).not_to_contain_text("#")
    expect(page.locator("#q-entity option[value=device]")).to_have_text("perangkat")
    page.select_option("#q-entity", "")
    page.fill("#q-user", "admin")
    page.select_option("#q-action", "login")
    page.click("#audit-filter button[type=submit]")
    expect(page.locator('#admin-table tbody tr:not([data-action="login"])')).to_have_count(0)
    expect(page.locator("#admin-table [data-col=action]").first).to_have_text("admin masuk")
    page.select_option("#q-action", "")
    page.fill("#q-user", "")
    page.click("#audit-filter button[type=submit]")
    page.wait_for_selector('#admin-table tr[data-entity="special_day"]')
    changes = page.locator('#admin-table tr[data-entity="special_day"] [data-col=changes]').first
    expect(changes).not_to_contain_text("{")
    assert page.evaluate("getComputedStyle(document.querySelector('.audit-table td.changes'))"
                         ".fontFamily").find("Mono") < 0
    screenshot(page, "admin-audit")


def test_manager_stays_in_own_agency(live_server: Any, page: Any) -> None:
    mall = Mall(live_server)
    mall.post("/api/v1/users", {"username": "manajer-duk", "password": PASSWORD,
                                "role": "manager", "agency_id": mall.duk["id"]})
    sign_in(page, mall.url, "manajer-duk", PASSWORD)
    ids = {int(x) for x in page.eval_on_selector_all("#admin-table tbody tr",
                                                     "rs => rs.map(r => r.dataset.id)")}
    assert ids == {mall.ktp["id"], mall.kk["id"]}
    # Site-wide sections are not offered to an agency's manager.
    nav = page.eval_on_selector_all(".admin-nav a", "as => as.map(a => a.dataset.section)")
    assert nav == ["services", "agencies", "counters", "users"]
    page.goto(mall.url + "/admin/devices")
    page.wait_for_url("**/admin")
    page.wait_for_selector("#admin-table")
    # The agency select offers only the own agency.
    page.click("#add-btn")
    options = page.eval_on_selector_all('#admin-form [name="agency_id"] option',
                                        "os => os.map(o => Number(o.value))")
    assert options == [mall.duk["id"]]
    # Even a hand-made request from the page (with its CSRF token) is refused.
    status = page.evaluate("""async (id) => {
        const csrf = document.querySelector('meta[name=csrf-token]').content;
        const r = await fetch('/api/v1/services/' + id, {method: 'PATCH',
            headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf},
            body: JSON.stringify({daily_quota: 1})});
        return [r.status, (await r.json()).error.code];
    }""", mall.paspor["id"])
    assert status == [403, "forbidden"]
    assert mall.get(f"/api/v1/services/{mall.paspor['id']}")["daily_quota"] == 30
    # Their own service saves.
    row(page, mall.ktp["id"]).locator("[data-action=edit]").click()
    page.fill('#admin-form [name="daily_quota"]', "175")
    submit(page)
    page.wait_for_selector('#page-ok:has-text("Tersimpan: Perekaman KTP-el")')
    assert mall.get(f"/api/v1/services/{mall.ktp['id']}")["daily_quota"] == 175
    # Admin-only sections send a manager back to /admin.
    page.goto(mall.url + "/admin/audit")
    page.wait_for_url("**/admin")
    page.wait_for_selector("#admin-table")


def test_english_labels(live_server: Any, page: Any) -> None:
    mall = Mall(live_server)
    sign_in(page, mall.url, "admin", ADMIN_PASSWORD)
    page.goto(mall.url + "/admin?lang=en")
    page.wait_for_selector("#admin-table")
    assert page.text_content(".admin-head h1") == "Services"
    row(page, mall.kk["id"]).locator("[data-action=edit]").click()
    page.fill('#admin-form [name="prefix"]', "A")
    submit(page)
    assert field_error(page, "prefix") == "Prefix 'A' is already used by another service at this site"


def test_sites_and_boards(live_server: Any, page: Any) -> None:
    mall = Mall(live_server)
    page.on("dialog", lambda d: d.accept())
    sign_in(page, mall.url, "admin", ADMIN_PASSWORD, "/admin/sites")
    page.click("#add-btn")
    page.fill('#admin-form [name="code"]', "mpp-uji")
    page.fill('#admin-form [name="name"]', "MPP Kedua")
    page.select_option('#admin-form [name="timezone"]', "Asia/Makassar")
    submit(page)
    assert field_error(page, "code") == "Kode 'mpp-uji' sudah dipakai"
    page.fill('#admin-form [name="code"]', "mpp-kedua")
    submit(page)
    page.wait_for_selector('#page-ok:has-text("Tersimpan: MPP Kedua")')
    site = [s for s in mall.get("/api/v1/sites") if s["code"] == "mpp-kedua"][0]
    assert site["timezone"] == "Asia/Makassar" and site["is_active"] is True
    row(page, site["id"]).locator("[data-action=deactivate]").click()
    page.wait_for_selector(f'#admin-table tr[data-id="{site["id"]}"].inactive')
    assert mall.get(f"/api/v1/sites/{site['id']}")["is_active"] is False

    page.goto(mall.url + "/admin/boards")
    page.wait_for_selector("#admin-table")
    page.click("#add-btn")
    page.select_option('#admin-form [name="site_id"]', str(mall.site["id"]))
    page.fill('#admin-form [name="name"]', "Papan Lantai 1")
    page.check(f'#f-agency_ids input[value="{mall.duk["id"]}"]')
    page.select_option('#admin-form [name="layout"]', "portrait")
    page.fill('#admin-form [name="running_text"]', "Selamat datang di MPP")
    submit(page)
    page.wait_for_selector('#page-ok:has-text("Tersimpan: Papan Lantai 1")')
    boards = mall.get("/api/v1/boards")
    assert [(b["name"], b["agency_ids"], b["layout"]) for b in boards] == [
        ("Papan Lantai 1", [mall.duk["id"]], "portrait")]
