"""WS /ws/display and the board API against a real uvicorn server (SQLite and PostgreSQL).

One server per backend for the module; each test builds its own small mall (a new site), so
tests do not see each other's tickets.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import websockets
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import AuditLog, Device
from app.db.session import make_engine
from app.domain.speech import announcement, clip_sequence
from app.services import auth
from tests.support.databases import create_database, drop_database
from tests.support.live import LiveServer, prepare_database, start_server
from tests.support.world import PASSWORD, World, build_world

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(backend: str, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[LiveServer, sessionmaker[Session]]]:
    tmp = tmp_path_factory.mktemp(f"wsdisplay-{backend}")
    url = create_database(backend, tmp)
    prepare_database(url)
    srv = start_server(url, log_path=tmp / "server.log")
    engine = make_engine(url)
    try:
        yield srv, sessionmaker(engine, expire_on_commit=False)
    finally:
        srv.stop()
        engine.dispose()
        drop_database(url)


@pytest.fixture
def mall(server) -> tuple[LiveServer, World, sessionmaker[Session]]:
    srv, factory = server
    with factory() as s:
        world = build_world(s, now=datetime.now(UTC), site_code=f"s{uuid.uuid4().hex[:8]}")
        s.commit()
    return srv, world, factory


@pytest.fixture
async def http(mall) -> Any:
    async with httpx.AsyncClient(base_url=mall[0].url, timeout=30) as client:
        yield client


async def token(http: httpx.AsyncClient, username: str) -> dict[str, str]:
    r = await http.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def ws_url(srv: LiveServer, query: str) -> str:
    return srv.url.replace("http://", "ws://") + "/ws/display?" + query


async def next_msg(ws: Any, *types: str, timeout: float = 10.0) -> dict[str, Any]:
    """The next message of one of these types (pings and other types are skipped)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        raw = await asyncio.wait_for(ws.recv(), max(0.01, end - loop.time()))
        msg = json.loads(raw)
        if not types or msg["type"] in types:
            return msg


def add_device(factory: sessionmaker[Session], site_id: int, kind: str) -> tuple[int, str]:
    tok, tok_hash = auth.new_device_token()
    with factory() as s:
        d = Device(site_id=site_id, kind=kind, name=f"{kind} uji", token_hash=tok_hash)
        s.add(d)
        s.commit()
        return d.id, tok


async def test_snapshot_then_called_event_with_the_domain_sentence(mall, http) -> None:
    srv, w, _ = mall
    officer = await token(http, w.officer_d.username)
    kiosk = {"Authorization": f"Bearer {w.kiosk_token}"}
    assert (await http.post(f"/api/v1/counters/{w.c1.id}/open", headers=officer)).status_code == 200
    async with websockets.connect(ws_url(srv, f"site_id={w.site.id}")) as ws:
        snap = await next_msg(ws, "snapshot")
        assert snap["site"]["timezone"] == "Asia/Jakarta" and snap["site"]["name"] == "MPP Uji"
        by_number = {c["number"]: c for c in snap["counters"]}
        assert by_number[1]["is_open"] and not by_number[2]["is_open"]
        assert {x["prefix"] for x in snap["waiting"]} == {"A", "K", "P"}
        text = json.dumps(snap)
        for personal in ("Petugas Dukcapil", w.officer_d.username, "Manajer"):
            assert personal not in text  # public screen: numbers and counters only

        for _ in range(2):
            r = await http.post("/api/v1/tickets", json={"service_id": w.ktp.id}, headers=kiosk)
            assert r.status_code == 201
        issued = await next_msg(ws, "ticket.issued")
        assert issued["number"] == "A-001"
        assert issued["waiting_counts"][str(w.ktp.id)] >= 1  # read after the commit

        r = await http.post(f"/api/v1/counters/{w.c1.id}/call-next", headers=officer)
        assert r.status_code == 200 and r.json()["number"] == "A-001"
        ev = await next_msg(ws, "ticket.called")
        assert ev["number"] == "A-001" and ev["counter"] == "1" and ev["recall"] is False
        assert ev["announcement"] == "Nomor antrean, A, satu, silakan menuju loket satu."
        assert ev["announcement"] == announcement("A-001", "1")
        assert ev["clips"] == clip_sequence("A-001", "1")
        assert "officer" not in json.dumps(ev)
        assert ev["waiting_counts"] == {str(w.ktp.id): 1}  # A-002 still waits

        tid = r.json()["id"]
        assert (await http.post(f"/api/v1/tickets/{tid}/recall", headers=officer)).status_code == 200
        again = await next_msg(ws, "ticket.called")
        assert again["number"] == "A-001" and again["recall"] is True
        assert again["announcement"] == ev["announcement"]
        assert "waiting_counts" not in again  # a recall changes no queue

    # A new connection's snapshot shows the call: a restarted board is never stale.
    async with websockets.connect(ws_url(srv, f"site_id={w.site.id}")) as ws:
        snap = await next_msg(ws, "snapshot")
        c1 = next(c for c in snap["counters"] if c["id"] == w.c1.id)
        assert c1["ticket"] == "A-001" and c1["status"] == "called"
        assert [c["number"] for c in snap["last_calls"]][:2] == ["A-001", "A-001"]
        assert snap["last_calls"][0]["recall"] is True
        assert {x["prefix"]: x["waiting"] for x in snap["waiting"]}["A"] == 1


async def test_board_filter_and_live_reconfiguration(mall, http) -> None:
    srv, w, factory = mall
    admin = await token(http, w.admin.username)
    r = await http.post("/api/v1/boards", headers=admin, json={
        "site_id": w.site.id, "name": "Lantai 2", "agency_ids": [w.imigrasi.id],
        "layout": "portrait", "running_text": "Siapkan paspor lama Anda"})
    assert r.status_code == 201, r.text
    board = r.json()
    assert board["url"] == f"/display/{board['id']}" and board["layout"] == "portrait"
    async with websockets.connect(ws_url(srv, f"board={board['id']}")) as ws:
        snap = await next_msg(ws, "snapshot")
        assert snap["board"] == {"id": board["id"], "name": "Lantai 2", "layout": "portrait",
                                 "running_text": "Siapkan paspor lama Anda"}
        assert {c["id"] for c in snap["counters"]} == {w.c3.id}
        assert [x["prefix"] for x in snap["waiting"]] == ["P"]
        kiosk = {"Authorization": f"Bearer {w.kiosk_token}"}
        await http.post("/api/v1/tickets", json={"service_id": w.ktp.id}, headers=kiosk)
        await http.post("/api/v1/tickets", json={"service_id": w.paspor.id}, headers=kiosk)
        # The Dukcapil ticket is not for this board; the Imigrasi one is.
        assert (await next_msg(ws, "ticket.issued"))["number"] == "P-001"

        r = await http.patch(f"/api/v1/boards/{board['id']}", headers=admin,
                             json={"agency_ids": None, "running_text": "Baru", "layout": None})
        assert r.status_code == 200, r.text
        assert r.json()["agency_ids"] is None and r.json()["layout"] == "portrait"
        snap = await next_msg(ws, "snapshot")
        assert snap["board"]["running_text"] == "Baru"
        assert {c["id"] for c in snap["counters"]} == {w.c1.id, w.c2.id, w.c3.id}
        await http.post("/api/v1/tickets", json={"service_id": w.kk.id}, headers=kiosk)
        assert (await next_msg(ws, "ticket.issued"))["number"] == "K-001"

        assert (await http.delete(f"/api/v1/boards/{board['id']}", headers=admin)).status_code == 204
        gone = await next_msg(ws, "error")
        assert gone["error"]["code"] == "not_found"
    with factory() as s:
        actions = s.scalars(sa.select(AuditLog.action).where(
            AuditLog.entity == "board", AuditLog.entity_id == board["id"])
            .order_by(AuditLog.id)).all()
    assert actions == ["create", "update", "deactivate"]
    async with websockets.connect(ws_url(srv, f"board={board['id']}")) as ws:
        assert (await next_msg(ws, "error"))["error"]["code"] == "not_found"


async def test_board_api_rules(mall, http) -> None:
    _, w, _ = mall
    admin = await token(http, w.admin.username)
    manager = await token(http, w.manager.username)
    officer = await token(http, w.officer_d.username)
    body = {"site_id": w.site.id, "name": "Lobi"}
    r = await http.post("/api/v1/boards", json=body)
    assert r.status_code == 401 and r.json()["error"]["code"] == "not_authenticated"
    r = await http.post("/api/v1/boards", json=body, headers=officer)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    r = await http.post("/api/v1/boards", json=body, headers=manager)
    assert r.status_code == 201 and r.json()["layout"] == "landscape"
    bid = r.json()["id"]
    for bad in ({"layout": "diagonal"}, {"agency_ids": [999999]}, {"name": ""},
                {"running_text": "x" * 501}, {"colour": "red"}):
        r = await http.post("/api/v1/boards", json={**body, **bad}, headers=admin)
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["error"]["code"] in ("validation_error", "invalid_value")
    r = await http.get("/api/v1/boards", params={"site_id": w.site.id}, headers=manager)
    assert [b["id"] for b in r.json()] == [bid]
    assert (await http.get("/api/v1/boards/999999", headers=admin)).status_code == 404
    r = await http.patch(f"/api/v1/boards/{bid}", json={"zone": "B"}, headers=manager)
    assert r.status_code == 200 and r.json()["zone"] == "B"
    r = await http.get("/api/v1/boards/not-a-number", headers=admin)
    assert r.status_code == 422


async def test_site_requiring_display_tokens(mall, http) -> None:
    srv, w, factory = mall
    admin = await token(http, w.admin.username)
    r = await http.patch(f"/api/v1/sites/{w.site.id}", headers=admin,
                         json={"require_display_token": True})
    assert r.status_code == 200, r.text
    dev_id, dev_token = add_device(factory, w.site.id, "display")
    for query in (f"site_id={w.site.id}", f"site_id={w.site.id}&token={w.kiosk_token}",
                  f"site_id={w.site.id}&token=dev_nope"):
        async with websockets.connect(ws_url(srv, query)) as ws:
            msg = await next_msg(ws)
            assert msg["type"] == "error" and msg["error"]["code"] == "not_authenticated"
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 5)
    async with websockets.connect(ws_url(srv, f"site_id={w.site.id}&token={dev_token}")) as ws:
        assert (await next_msg(ws))["type"] == "snapshot"
        # Revoked while connected: cut off at the next snapshot (here after a config change).
        with factory() as s:
            s.get(Device, dev_id).is_active = False
            s.commit()
        await http.patch(f"/api/v1/sites/{w.site.id}", headers=admin, json={"name": "MPP Uji 2"})
        msg = await next_msg(ws, "error", "snapshot")
        assert msg["type"] == "error" and msg["error"]["code"] == "not_authenticated"
    async with websockets.connect(ws_url(srv, f"site_id={w.site.id}&token={dev_token}")) as ws:
        assert (await next_msg(ws))["error"]["code"] == "not_authenticated"


async def test_unknown_site_and_bad_parameters_are_refused_cleanly(mall) -> None:
    srv, _, _ = mall
    for query, code in (("site_id=999999", "not_found"), ("board=999999", "not_found"),
                        ("site_id=abc", "invalid_value")):
        async with websockets.connect(ws_url(srv, query)) as ws:
            msg = await next_msg(ws)
            assert msg["type"] == "error" and msg["error"]["code"] == code


async def test_display_page_is_served_and_translated(mall, http) -> None:
    _, w, _ = mall
    r = await http.get("/display", params={"site_id": w.site.id})
    assert r.status_code == 200 and "Nomor antrean dipanggil" in r.text
    assert "/display-static/display.js" in r.text and "http://" not in r.text.replace(
        "http://test", "")  # no CDN: every asset comes from the app
    r = await http.get("/display/1", params={"lang": "en"})
    assert r.status_code == 200 and "Now calling" in r.text and "Turn on sound" in r.text
    assert (await http.get("/display", params={"site_id": "x"})).status_code == 422
    assert (await http.get("/display/0")).status_code == 422
    for asset in ("/display-static/display.css", "/display-static/audio/chime.ogg",
                  "/display-static/audio/nomor_antrean.ogg"):
        assert (await http.get(asset)).status_code == 200


async def test_zone_board_lists_and_counts_only_its_zone(mall, http) -> None:
    """A zone-B board lists the waiting counts of zone-B services only, in its snapshot and
    in the counts each event carries; a zone-A board gets its own (each encoded per filter)."""
    srv, w, _ = mall
    kiosk = {"Authorization": f"Bearer {w.kiosk_token}"}
    async with websockets.connect(ws_url(srv, f"site_id={w.site.id}&zone=B")) as wb, \
            websockets.connect(ws_url(srv, f"site_id={w.site.id}&zone=A")) as wa:
        snap_b = await next_msg(wb, "snapshot")
        snap_a = await next_msg(wa, "snapshot")
        assert {x["prefix"] for x in snap_b["waiting"]} == {"P"}
        assert {x["prefix"] for x in snap_a["waiting"]} == {"A", "K"}
        for service in (w.ktp, w.paspor):
            r = await http.post("/api/v1/tickets", json={"service_id": service.id},
                                headers=kiosk)
            assert r.status_code == 201
        # Zone B hears only its own ticket, with its own counts.
        ev_b = await next_msg(wb, "ticket.issued")
        assert ev_b["number"] == "P-001"
        assert ev_b["waiting_counts"] == {str(w.paspor.id): 1}
        ev_a = await next_msg(wa, "ticket.issued")
        assert ev_a["number"] == "A-001"
        assert ev_a["waiting_counts"] == {str(w.ktp.id): 1}
