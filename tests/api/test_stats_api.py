"""Statistics API: summary, report, exports, IKM against a hand-computed example, scope, pages."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import auth
from tests.support.world import PASSWORD

WIB = ZoneInfo("Asia/Jakarta")
DAY = "2026-11-23"


async def login(api, username: str) -> dict[str, str]:
    r = await api.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return auth(r.json()["access_token"])


async def serve(api, clock, world, officer, n: int, *, wait_min: int = 5, service_min: int = 4,
                service_id=None, counter=None, no_show_last: bool = False) -> list[dict]:
    """Issue n tickets, then call, start and finish them one by one, moving the clock."""
    kiosk = auth(world.kiosk_token)
    service_id = service_id or world.ktp.id
    counter = counter or world.c1
    issued = []
    for _ in range(n):
        r = await api.post("/api/v1/tickets", json={"service_id": service_id}, headers=kiosk)
        assert r.status_code == 201, r.text
        issued.append(r.json())
    await api.post(f"/api/v1/counters/{counter.id}/open", headers=officer)
    for i, t in enumerate(issued):
        clock.set(clock() + timedelta(minutes=wait_min))
        r = await api.post(f"/api/v1/counters/{counter.id}/call-next", headers=officer)
        assert r.status_code == 200 and r.json()["id"] == t["id"], r.text
        if no_show_last and i == len(issued) - 1:
            await api.post(f"/api/v1/tickets/{t['id']}/no-show", headers=officer)
            continue
        await api.post(f"/api/v1/tickets/{t['id']}/start", headers=officer)
        clock.set(clock() + timedelta(minutes=service_min))
        r = await api.post(f"/api/v1/tickets/{t['id']}/finish", headers=officer)
        assert r.json()["status"] == "done"
    return issued


def _morning(clock):
    clock.set(datetime(2026, 11, 23, 8, 0, tzinfo=WIB).astimezone(UTC))


async def test_summary_report_and_exports(api, world, clock):
    _morning(clock)
    officer = await login(api, world.officer_d.username)
    await serve(api, clock, world, officer, 3, wait_min=5, service_min=4, no_show_last=True)
    admin = await login(api, world.admin.username)
    r = await api.get("/api/v1/stats/summary", params={"from": DAY, "to": DAY}, headers=admin)
    assert r.status_code == 200, r.text
    s = r.json()
    assert (s["issued"], s["served"], s["no_shows"], s["waiting_now"]) == (3, 2, 1, 0)
    # First call after 5 min; the second waited 5 + 4 + 5 = 14, the third 14 + 4 + 5 = 23.
    assert s["wait_seconds"]["count"] == 3
    assert s["wait_seconds"]["mean"] == pytest.approx((5 + 14 + 23) * 60 / 3, abs=0.1)
    assert s["wait_seconds"]["median"] == 14 * 60
    assert s["wait_seconds"]["p90"] == pytest.approx((14 + 0.8 * 9) * 60, abs=0.1)
    assert s["service_seconds"]["mean"] == 240
    assert s["per_hour"][8]["arrivals"] == 3 and sum(h["calls"] for h in s["per_hour"]) == 3

    r = await api.get("/api/v1/stats/report", params={"period": "month", "ref": DAY,
                                                       "by": "officer"}, headers=admin)
    rep = r.json()
    assert rep["from"] == "2026-11-01" and rep["to"] == "2026-11-30" and len(rep["per_day"]) == 30
    officer_row = [x for x in rep["rows"] if x["key"] == world.officer_d.id][0]
    assert officer_row["served"] == 2 and officer_row["label"] == "Petugas Dukcapil"
    assert rep["heatmap"]["arrivals"][0][8] == 3  # Monday 08.00

    r = await api.get("/api/v1/stats/export.csv", params={"from": DAY, "to": DAY,
                                                           "by": "service"}, headers=admin)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert rows[0][:5] == ["Dari tanggal", "Sampai tanggal", "Layanan", "Tiket diambil", "Dilayani"]
    assert rows[1][2] == "A · Perekaman KTP-el" and rows[1][3:6] == ["3", "2", "1"]
    assert rows[-1][2] == "TOTAL"

    r = await api.get("/api/v1/stats/export.xlsx", params={"from": DAY, "to": DAY},
                      headers=admin)
    assert r.status_code == 200
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["Ringkasan", "Per hari", "Per jam", "Kuota"]
    ws = wb["Ringkasan"]
    assert ws["D1"].value == "Tiket diambil" and ws["D2"].value == 3 and ws["E2"].value == 2


async def test_errors_and_scope(api, world, clock):
    admin = await login(api, world.admin.username)
    r = await api.get("/api/v1/stats/summary", params={"from": "2026-11-23", "to": "2026-11-01"},
                      headers=admin)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_value"
    r = await api.get("/api/v1/stats/summary", params={"from": "2020-01-01", "to": "2026-01-01"},
                      headers=admin)
    assert r.status_code == 422
    r = await api.get("/api/v1/stats/summary", params={"from": "kemarin"}, headers=admin)
    assert r.status_code == 422
    r = await api.get("/api/v1/stats/report", params={"by": "planet"}, headers=admin)
    assert r.status_code == 422
    assert (await api.get("/api/v1/stats/summary")).status_code == 401
    officer = await login(api, world.officer_d.username)
    r = await api.get("/api/v1/stats/summary", headers=officer)
    assert r.status_code == 403
    # A manager of one agency cannot read another agency's figures.
    r = await api.post("/api/v1/users", headers=admin, json={
        "username": "mgr-imi", "password": PASSWORD, "role": "manager",
        "agency_id": world.imigrasi.id})
    assert r.status_code == 201, r.text
    mgr = await login(api, "mgr-imi")
    r = await api.get("/api/v1/stats/summary", params={"agency_id": world.dukcapil.id},
                      headers=mgr)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    r = await api.get("/api/v1/stats/ikm", params={"service_id": world.ktp.id}, headers=mgr)
    assert r.status_code == 403
    r = await api.get("/api/v1/stats/dashboard", headers=mgr)
    assert [a["id"] for a in r.json()["agencies"]] == [world.imigrasi.id]
    r = await api.get("/api/v1/stats/summary", params={"agency_id": 999999}, headers=admin)
    assert r.status_code == 404


async def test_ikm_hand_computed_and_weights(api, world, clock):
    _morning(clock)
    officer = await login(api, world.officer_d.username)
    issued = await serve(api, clock, world, officer, 3)
    # Hand computed: sums 10,11,9,12,9,10,11,7,9 over 3 respondents.
    answers = [[4, 4, 3, 4, 3, 3, 4, 2, 3], [3, 4, 3, 4, 3, 4, 4, 3, 3],
               [3, 3, 3, 4, 3, 3, 3, 2, 3]]
    for t, a in zip(issued, answers, strict=True):
        r = await api.post("/api/v1/surveys", json={"tracking_code": t["tracking_code"],
                                                     "answers": a, "comment": "Cepat"})
        assert r.status_code == 201, r.text
    admin = await login(api, world.admin.username)
    r = await api.get("/api/v1/stats/ikm", params={"from": DAY, "to": DAY,
                                                    "agency_id": world.dukcapil.id}, headers=admin)
    assert r.status_code == 200, r.text
    ikm = r.json()
    assert ikm["respondents"] == 3
    assert ikm["nrr"] == [3.333, 3.667, 3.0, 4.0, 3.0, 3.333, 3.667, 2.333, 3.0]
    # Sum of sums 88 / 27 x 25 = 81.481... -> 81.48, B (Baik).
    assert ikm["ikm"] == 81.48 and ikm["mutu"] == "B" and ikm["kinerja"] == "Baik"
    assert ikm["sample"] == {"respondents": 3, "population": 3, "minimum": 3, "reached": True}
    assert [c["comment"] for c in ikm["comments"]] == ["Cepat"] * 3
    assert ikm["weights"] == ["1/9"] * 9
    assert ikm["unsur"][8]["question"].startswith("Bagaimana pendapat Saudara")
    # The semester holding DAY gives the same respondents (SKM reports run per semester too).
    r = await api.get("/api/v1/stats/ikm", params={"period": "semester", "ref": DAY,
                                                    "agency_id": world.dukcapil.id}, headers=admin)
    assert r.status_code == 200, r.text
    half = r.json()
    assert half["respondents"] == 3 and half["ikm"] == 81.48
    assert half["from"].endswith(("-01-01", "-07-01")) and half["to"].endswith(("-06-30", "-12-31"))

    # Weights: only admins; must add up to 1; 0.11 each is refused (sums to 0.99).
    r = await api.put("/api/v1/stats/settings/ikm-weights", json={"weights": [0.11] * 9},
                      headers=admin)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_value"
    weights = ["1/4", "1/4", "1/8", "1/8", "1/16", "1/16", "1/16", "1/16", "0"]
    r = await api.put("/api/v1/stats/settings/ikm-weights", json={"weights": weights},
                      headers=admin)
    assert r.status_code == 200 and r.json()["weights"][0] == "1/4"
    r = await api.get("/api/v1/stats/ikm", params={"from": DAY, "to": DAY}, headers=admin)
    # (10/3 + 11/3)/4 + (9/3 + 12/3)/8 + (9 + 10 + 11 + 7)/3/16 = 3.5 + 0.875 + 0.7708 = 5.1458/...
    nrr = [10 / 3, 11 / 3, 3, 4, 3, 10 / 3, 11 / 3, 7 / 3, 3]
    w = [1 / 4, 1 / 4, 1 / 8, 1 / 8, 1 / 16, 1 / 16, 1 / 16, 1 / 16, 0]
    expected = round(sum(a * b for a, b in zip(nrr, w, strict=True)) * 25, 2)
    assert r.json()["ikm"] == expected
    mgr = await login(api, world.manager.username)
    r = await api.put("/api/v1/stats/settings/ikm-weights", json={"weights": None}, headers=mgr)
    assert r.status_code == 403
    r = await api.put("/api/v1/stats/settings/ikm-weights", json={"weights": None}, headers=admin)
    assert r.json()["is_default"] is True


async def test_alert_thresholds_api(api, world, clock):
    _morning(clock)
    kiosk = auth(world.kiosk_token)
    await api.post("/api/v1/tickets", json={"service_id": world.kk.id}, headers=kiosk)
    clock.set(clock() + timedelta(minutes=12))
    mgr = await login(api, world.manager.username)
    snap = (await api.get("/api/v1/stats/dashboard", headers=mgr)).json()
    kk = [s for a in snap["agencies"] for s in a["services"] if s["id"] == world.kk.id][0]
    assert kk["waiting"] == 1 and kk["longest_wait_seconds"] == 12 * 60 and not kk["alert"]
    r = await api.put("/api/v1/stats/settings/alerts", json={"services": {world.kk.id: 10}},
                      headers=mgr)
    assert r.status_code == 200 and r.json()["services"] == {str(world.kk.id): 10}
    snap = (await api.get("/api/v1/stats/dashboard", headers=mgr)).json()
    assert [a["service_id"] for a in snap["alerts"]] == [world.kk.id]
    r = await api.put("/api/v1/stats/settings/alerts", json={"default_minutes": 5}, headers=mgr)
    assert r.status_code == 403
    r = await api.put("/api/v1/stats/settings/alerts", json={"services": {world.kk.id: 0}},
                      headers=mgr)
    assert r.status_code == 422


async def test_pages_render(api, world, clock):
    r = await api.get("/dashboard", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    r = await api.get("/login")
    token = r.cookies.get("mpp_login_csrf") or api.cookies.get("mpp_login_csrf")
    r = await api.post("/login", data={"username": world.manager.username, "password": PASSWORD,
                                       "csrf_token": token, "next": "/dashboard"})
    assert r.status_code in (200, 303), r.text
    for path, marker in (("/dashboard", 'id="dash-body"'),
                         ("/dashboard/reports", "chart.umd.min.js"),
                         ("/dashboard/ikm?period=month&ref=2026-11-23", 'id="ikm-unsur"'),
                         ("/dashboard/ikm?lang=en", "Requirements")):
        r = await api.get(path)
        assert r.status_code == 200, (path, r.text[:300])
        assert marker in r.text, path
        assert 'name="csrf-token"' in r.text
    r = await api.get("/static/vendor/chartjs/chart.umd.min.js")
    assert r.status_code == 200 and "Chart" in r.text[:2000]



def test_ws_dashboard_auth_and_snapshot(app, world, clock):
    from starlette.testclient import TestClient

    _morning(clock)
    signer = app.state.token_signer
    # No lifespan: the app keeps the test's session factory (and its rolled-back transaction).
    client = TestClient(app)
    with client.websocket_connect("/ws/dashboard?token=" + signer.issue(world.officer_d)) as ws:
        assert ws.receive_json()["error"]["code"] == "forbidden"
    with client.websocket_connect("/ws/dashboard") as ws:
        assert ws.receive_json()["error"]["code"] == "not_authenticated"
    with client.websocket_connect("/ws/dashboard?site_id=x&token="
                                  + signer.issue(world.manager)) as ws:
        assert ws.receive_json()["error"]["code"] == "validation_error"
    with client.websocket_connect("/ws/dashboard?token=" + signer.issue(world.manager)) as ws:
        snap = ws.receive_json()
        assert snap["type"] == "snapshot" and snap["site"]["id"] == world.site.id
        assert {a["id"] for a in snap["agencies"]} == {world.dukcapil.id, world.imigrasi.id}


async def test_dashboard_throttle_coalesces_bursts():
    """Events in a burst give one trailing snapshot per interval, never one per event."""
    import asyncio
    import time
    from types import SimpleNamespace

    from app.api.ws_dashboard import serve_throttled
    from app.bus import EventBus
    from app.domain.events import Event
    from app.metrics import Metrics

    bus = EventBus()
    await bus.start()
    sent: list[tuple[float, dict]] = []
    closed = asyncio.Event()
    counter = {"n": 0}

    class FakeWS:
        app = SimpleNamespace(state=SimpleNamespace(bus=bus, metrics=Metrics()))

        async def send_json(self, msg):
            sent.append((time.monotonic(), msg))
            if len(sent) >= 3:
                closed.set()
                raise RuntimeError("client left")

    def snapshot():
        counter["n"] += 1
        return {"type": "snapshot", "n": counter["n"]}

    task = asyncio.create_task(serve_throttled(FakeWS(), snapshot, lambda e: True, interval=0.5))
    await asyncio.sleep(0.6)  # a quiet spell after the connect snapshot
    start = time.monotonic()
    for i in range(20):  # a burst of 20 events within ~0.2 s
        bus.deliver_local(Event("ticket.issued", 1, {"i": i}))
        await asyncio.sleep(0.01)
    await asyncio.wait_for(closed.wait(), 5)
    await asyncio.wait_for(task, 5)
    await bus.stop()
    # First snapshot on connect, one at once for the first event, one trailing for the rest.
    assert [m["n"] for _, m in sent] == [1, 2, 3]
    assert sent[2][0] - sent[1][0] >= 0.45
    assert sent[2][0] - start < 2
