"""Manager dashboard, reports, IKM report and the SKM survey in Chromium (demo MPP server)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import DEMO_PASSWORD
from tests.e2e.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("dashboard")]
GOOD = [4, 3, 3, 4, 3, 4, 4, 3, 3]


class Demo:
    """API helpers against the demo server: the admin, an officer and a kiosk device."""

    def __init__(self, server: Any) -> None:
        self.url = server.url
        self.admin = {"Authorization": f"Bearer {server.token('admin', DEMO_PASSWORD)}"}
        self.officer = {"Authorization":
                        f"Bearer {server.token('petugas_dukcapil', DEMO_PASSWORD)}"}
        self.site = self.get("/api/v1/sites")[0]["id"]
        kiosk = self.post("/api/v1/devices", {"site_id": self.site, "kind": "kiosk",
                                              "name": "Kios uji"}, self.admin)
        self.kiosk = {"Authorization": f"Bearer {kiosk['token']}"}
        # The codes printed on the kiosk's tickets (what the citizen holds): staff answers do
        # not carry them (issue 16 item 5), so serve_all puts them back from here.
        self.codes: dict[int, str] = {}

    def get(self, path: str, headers: dict[str, str] | None = None) -> Any:
        r = httpx.get(self.url + path, headers=headers or self.admin, timeout=30)
        r.raise_for_status()
        return r.json()

    def post(self, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
        r = httpx.post(self.url + path, json=body, headers=headers or self.officer, timeout=30)
        assert r.status_code in (200, 201, 204), r.text
        return r.json() if r.content else None

    def services(self, code: str) -> list[dict[str, Any]]:
        agency = next(a["id"] for a in self.get("/api/v1/agencies") if a["code"] == code)
        return self.get(f"/api/v1/services?agency_id={agency}")

    def counter(self, code: str, number: int) -> int:
        agency = next(a["id"] for a in self.get("/api/v1/agencies") if a["code"] == code)
        return next(c["id"] for c in self.get(f"/api/v1/counters?agency_id={agency}")
                    if c["number"] == number)

    def issue(self, service_id: int) -> dict[str, Any]:
        t = self.post("/api/v1/tickets", {"service_id": service_id}, self.kiosk)
        self.codes[t["id"]] = t["tracking_code"]
        return t

    def serve_all(self, counter_id: int, n: int) -> list[dict[str, Any]]:
        done = []
        self.post(f"/api/v1/counters/{counter_id}/open")
        for _ in range(n):
            t = self.post(f"/api/v1/counters/{counter_id}/call-next")
            if t is None:
                break
            assert t["tracking_code"] is None  # the officer never sees the citizen's code
            self.post(f"/api/v1/tickets/{t['id']}/start")
            finished = self.post(f"/api/v1/tickets/{t['id']}/finish")
            done.append({**finished, "tracking_code": self.codes.get(t["id"])})
        return done


def sign_in(page: Any, url: str, username: str, target: str) -> None:
    page.goto(url + "/login?next=" + target)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(re.escape(target.split("?")[0])))


@pytest.mark.both_engines  # the engine-specific path under the screen
def test_dashboard_updates_live(demo_server: Any, page: Any) -> None:
    demo = Demo(demo_server)
    ktp = demo.services("DUKCAPIL")[0]
    paspor = demo.services("IMIGRASI")[0]
    demo.issue(ktp["id"])
    sign_in(page, demo.url, "manajer", "/dashboard")
    expect(page.locator("#conn")).to_have_attribute("data-state", "connected")
    row = page.locator(f'tr.svc[data-service="{ktp["id"]}"]')
    expect(row.locator('[data-col="waiting"]')).to_have_text("1")
    # A kiosk issues: the board follows without a reload.
    demo.issue(ktp["id"])
    demo.issue(ktp["id"])
    expect(row.locator('[data-col="waiting"]')).to_have_text("3")
    expect(page.locator("#k-waiting")).to_have_text("3")
    # A counter calls and serves one: waiting drops, served and open counters rise.
    demo.serve_all(demo.counter("DUKCAPIL", 1), 1)
    expect(row.locator('[data-col="waiting"]')).to_have_text("2")
    expect(row.locator('[data-col="served"]')).to_have_text("1")
    expect(page.locator("#k-open")).to_have_text("1")
    for _ in range(4):
        demo.issue(paspor["id"])
    expect(page.locator(f'tr.svc[data-service="{paspor["id"]}"] [data-col="waiting"]')
           ).to_have_text("4")
    # An alert threshold set on the page reaches the board.
    page.click("#thresholds summary")
    page.fill(f'#th-body input[data-service="{ktp["id"]}"]', "15")
    page.click("#threshold-form button[type=submit]")
    expect(page.locator("#th-status")).to_have_class("ok")
    expect(row.locator("td").last).to_have_text("15")
    page.click("#thresholds summary")
    # README's dashboard/report/ikm screenshots come from bench/stats_screenshots.py (history).


def test_report_page_draws_charts(demo_server: Any, page: Any) -> None:
    demo = Demo(demo_server)
    duk = demo.services("DUKCAPIL")
    for i in range(6):
        demo.issue(duk[i % 3]["id"])
    demo.serve_all(demo.counter("DUKCAPIL", 1), 4)
    sign_in(page, demo.url, "manajer", "/dashboard/reports")
    expect(page.locator("body")).to_have_attribute("data-loaded", "1")
    expect(page.locator("#rep-kpis .kpi").first).to_contain_text("6")
    for canvas in ("chart-hour", "chart-day", "chart-breakdown", "chart-wait"):
        drawn = page.evaluate("""(id) => {
            const c = document.getElementById(id);
            const chart = Chart.getChart(c);
            const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let ink = 0;
            for (let i = 3; i < px.length; i += 4) if (px[i] > 0) ink++;
            return {chart: !!chart, ink, w: c.width};
        }""", canvas)
        assert drawn["chart"] and drawn["w"] > 100 and drawn["ink"] > 500, (canvas, drawn)
    total = page.evaluate("Chart.getChart('chart-hour').data.datasets[0].data"
                          ".reduce((a, b) => a + b, 0)")
    assert total == 6
    expect(page.locator("#rep-table tfoot")).to_contain_text("TOTAL")
    expect(page.locator("#heat td").first).to_be_visible()
    page.select_option("#f-by", "officer")
    page.click("#rep-form button[type=submit]")
    expect(page.locator("#rep-table tbody")).to_contain_text("dukcapil", ignore_case=True)
    page.select_option("#f-by", "service")
    page.click("#rep-form button[type=submit]")
    expect(page.locator("#rep-table tbody tr")).to_have_count(3)
    href = page.get_attribute("#dl-csv", "href")
    assert href and "by=service" in href


def test_ikm_report_and_survey(demo_server: Any, browser: Any, page: Any) -> None:
    demo = Demo(demo_server)
    duk = demo.services("DUKCAPIL")
    for i in range(5):
        demo.issue(duk[i % 2]["id"])
    done = demo.serve_all(demo.counter("DUKCAPIL", 1), 5)
    answers = [GOOD, [3] * 9, [4] * 9, [3, 3, 3, 4, 3, 3, 4, 2, 3]]
    for t, a in zip(done, answers, strict=False):
        track = t["tracking_code"]
        demo.post("/api/v1/surveys", {"tracking_code": track, "answers": a,
                                      "comment": "Pelayanan cepat dan ramah"},
                  {"Accept": "application/json"})

    # The citizen's phone: the survey page for the fifth ticket.
    phone = browser.new_context(viewport={"width": 412, "height": 900}, locale="id-ID",
                                device_scale_factor=1)
    p = phone.new_page()
    p.goto(demo.url + "/survey/" + done[4]["tracking_code"])
    expect(p.locator("fieldset.unsur")).to_have_count(9)
    # Each unsur asks its question sentence, with the heading as a label above it.
    u5 = p.locator('fieldset[data-unsur="U5"] legend')
    expect(u5.locator(".uhead")).to_have_text("U5 Produk Spesifikasi Jenis Pelayanan")
    expect(u5.locator(".question")).to_contain_text("kesesuaian produk pelayanan")
    for i, score in enumerate(GOOD, start=1):
        p.locator(f'input[name="u{i}"][value="{score}"]').check(force=True)
    p.fill("textarea[name=comment]", "Ruang tunggu nyaman")
    p.evaluate("window.scrollTo(0, 0)")
    screenshot(p, "survey")
    p.click("#survey-form button[type=submit]")
    expect(p.locator("#survey-thanks")).to_be_visible()
    phone.close()

    sign_in(page, demo.url, "manajer", "/dashboard/ikm")
    page.goto(demo.url + "/dashboard/ikm?period=month&sign_place=Denpasar&sign_date=2026-07-01"
              "&sign_title=Kepala+Dinas&sign_name=I+Made+Contoh&sign_nip=197001012000031001")
    # Hand check: the five respondents' scores add up to 31 + 27 + 36 + 28 + 31 = 153,
    # so IKM = 153 / (9 x 5) x 25 = 85.00 (B, Baik).
    expect(page.locator("#ikm-respondents")).to_have_text("5")
    expect(page.locator("#ikm-mutu")).to_have_text("B")
    expect(page.locator("#ikm-value")).to_have_text("85,00")  # Indonesian decimals (Babel)
    expect(page.locator("#ikm-unsur tbody tr").first.locator("td.num").nth(4)).to_contain_text(",")
    sig = page.locator("#ikm-signature")
    expect(sig).to_contain_text("Denpasar, 1 Juli 2026")
    expect(sig).to_contain_text("Kepala Dinas")
    expect(sig).to_contain_text("I Made Contoh")
    expect(sig).to_contain_text("NIP 197001012000031001")
    expect(page.locator('#ikm-form select[name=period] option[value="semester"]')).to_have_count(1)
    expect(page.locator(".comments li")).to_have_count(5)
    page.emulate_media(media="print")
    assert not page.locator("#ikm-form").is_visible()
    assert page.locator("#ikm-unsur").is_visible()
    assert page.locator("#ikm-signature").is_visible()
