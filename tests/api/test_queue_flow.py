"""The core flow through the public API: issue, call, serve, transfer, with auth and errors."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.db.models import Ticket, TicketEvent
from tests.conftest import auth
from tests.support.world import PASSWORD


async def login(api, username: str) -> str:
    r = await api.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] > 0
    return body["access_token"]


async def test_issue_call_serve_finish(api, world, session):
    kiosk = auth(world.kiosk_token)
    r = await api.post("/api/v1/tickets", json={"service_id": world.ktp.id}, headers=kiosk)
    assert r.status_code == 201, r.text
    t1 = r.json()
    assert t1["number"] == "A-001" and t1["status"] == "waiting" and t1["people_ahead"] == 0
    r = await api.post("/api/v1/tickets", json={"service_id": world.ktp.id}, headers=kiosk)
    t2 = r.json()
    assert t2["number"] == "A-002" and t2["people_ahead"] == 1
    # With no counter open the estimate assumes one counter at typical speed (8 min).
    assert t2["estimated_wait_minutes"] == 8

    officer = auth(await login(api, world.officer_d.username))
    assert (await api.post(f"/api/v1/counters/{world.c1.id}/call-next",
                           headers=officer)).json()["error"]["code"] == "counter_closed"
    assert (await api.post(f"/api/v1/counters/{world.c1.id}/open", headers=officer)).status_code == 200
    r = await api.post(f"/api/v1/counters/{world.c1.id}/call-next", headers=officer)
    assert r.status_code == 200 and r.json()["number"] == "A-001"
    assert r.json()["status"] == "called" and r.json()["counter_id"] == world.c1.id
    tid = t1["id"]
    r = await api.post(f"/api/v1/tickets/{tid}/finish", headers=officer)
    assert r.status_code == 409 and r.json()["error"]["code"] == "invalid_transition"
    for action, status in (("recall", "called"), ("start", "serving"), ("finish", "done")):
        r = await api.post(f"/api/v1/tickets/{tid}/{action}", headers=officer)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == status
    types = session.scalars(sa.select(TicketEvent.type).where(TicketEvent.ticket_id == tid)
                            .order_by(TicketEvent.id)).all()
    assert types == ["issued", "called", "recalled", "started", "finished"]
    users = set(session.scalars(sa.select(TicketEvent.user_id).where(
        TicketEvent.ticket_id == tid, TicketEvent.type != "issued")))
    assert users == {world.officer_d.id}

    r = await api.get(f"/api/v1/track/{t2['tracking_code']}")
    assert r.status_code == 200
    assert r.json()["people_ahead"] == 0 and r.json()["status"] == "waiting"
    assert "name" not in r.json() and "phone" not in str(r.json())


async def test_call_next_empty_queue_is_204(api, world):
    officer = auth(await login(api, world.officer_d.username))
    await api.post(f"/api/v1/counters/{world.c1.id}/open", headers=officer)
    r = await api.post(f"/api/v1/counters/{world.c1.id}/call-next", headers=officer)
    assert r.status_code == 204 and r.content == b""


async def test_idempotent_retry_returns_same_ticket(api, world, session):
    kiosk = {**auth(world.kiosk_token), "Idempotency-Key": "tap-1"}
    r1 = await api.post("/api/v1/tickets", json={"service_id": world.ktp.id}, headers=kiosk)
    r2 = await api.post("/api/v1/tickets", json={"service_id": world.ktp.id}, headers=kiosk)
    assert (r1.status_code, r2.status_code) == (201, 200)
    assert r1.json()["id"] == r2.json()["id"] and r1.json()["number"] == r2.json()["number"]
    r3 = await api.post("/api/v1/tickets", json={"service_id": world.kk.id}, headers=kiosk)
    assert r3.status_code == 409 and r3.json()["error"]["code"] == "idempotency_conflict"
    count = session.scalar(sa.select(sa.func.count()).select_from(Ticket))
    assert count == 1


async def test_officer_cannot_operate_other_agency(api, world):
    officer = auth(await login(api, world.officer_i.username))
    for path in (f"/api/v1/counters/{world.c1.id}/open", f"/api/v1/counters/{world.c1.id}/call-next"):
        r = await api.post(path, headers=officer)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert (await api.post(f"/api/v1/counters/{world.c3.id}/open", headers=officer)).status_code == 200
    r = await api.post(f"/api/v1/counters/{world.c3.id}/open")
    assert r.status_code == 401 and r.json()["error"]["code"] == "not_authenticated"


async def test_priority_goes_first_with_bound(api, world, session):
    kiosk = auth(world.kiosk_token)
    numbers = []
    for prio in (None, "lansia", "ibu_hamil", "disabilitas", "anak", None):
        r = await api.post("/api/v1/tickets", json={"service_id": world.ktp.id, "priority": prio},
                           headers=kiosk)
        numbers.append(r.json()["number"])
    officer = auth(await login(api, world.officer_d.username))
    await api.post(f"/api/v1/counters/{world.c1.id}/open", headers=officer)
    called = []
    for _ in range(6):
        r = await api.post(f"/api/v1/counters/{world.c1.id}/call-next", headers=officer)
        called.append(r.json()["number"])
        await api.post(f"/api/v1/tickets/{r.json()['id']}/no-show", headers=officer)
    # Three priority calls in a row (the site's bound), then a regular one, then the rest.
    assert called == ["A-002", "A-003", "A-004", "A-001", "A-005", "A-006"]


async def test_transfer_to_other_agency_keeps_tracking(api, world, session):
    kiosk = auth(world.kiosk_token)
    t = (await api.post("/api/v1/tickets", json={"service_id": world.ktp.id}, headers=kiosk)).json()
    officer = auth(await login(api, world.officer_d.username))
    await api.post(f"/api/v1/counters/{world.c1.id}/open", headers=officer)
    await api.post(f"/api/v1/counters/{world.c1.id}/call-next", headers=officer)
    r = await api.post(f"/api/v1/tickets/{t['id']}/transfer",
                       json={"service_id": world.paspor.id, "note": "butuh paspor"},
                       headers=officer)
    assert r.status_code == 201, r.text
    new = r.json()
    assert new["number"] == "P-001" and new["status"] == "waiting"
    assert new["transferred_from_id"] == t["id"]
    tr = (await api.get(f"/api/v1/track/{t['tracking_code']}")).json()
    assert tr["number"] == "P-001" and tr["service"]["name"] == "Paspor baru"
    old = session.get(Ticket, t["id"])
    session.refresh(old)
    assert old.status == "transferred"


async def test_quota_exhausted_and_closed(api, world, session, clock):
    admin = auth(await login(api, world.admin.username))
    r = await api.patch(f"/api/v1/services/{world.paspor.id}", json={"daily_quota": 1},
                        headers=admin)
    assert r.status_code == 200
    kiosk = auth(world.kiosk_token)
    assert (await api.post("/api/v1/tickets", json={"service_id": world.paspor.id},
                           headers=kiosk)).status_code == 201
    r = await api.post("/api/v1/tickets", json={"service_id": world.paspor.id}, headers=kiosk)
    assert r.status_code == 409 and r.json()["error"]["code"] == "quota_exhausted"
    r = await api.post("/api/v1/tickets", json={"service_id": world.paspor.id},
                       headers={**kiosk, "Accept-Language": "en"})
    assert r.json()["error"]["message"].startswith("Today's quota")
    # Closed: only open 01:00-01:01 local time, so it's closed now (almost always) -> next time.
    local = clock().astimezone(__import__("zoneinfo").ZoneInfo("Asia/Jakarta"))
    start = (local + timedelta(hours=2)).strftime("%H:00")
    end = (local + timedelta(hours=3)).strftime("%H:00")
    if start < end:
        days = {d: [[start, end]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
        r = await api.patch(f"/api/v1/services/{world.kk.id}", json={"opening_hours": days},
                            headers=admin)
        assert r.status_code == 200, r.text
        r = await api.post("/api/v1/tickets", json={"service_id": world.kk.id}, headers=kiosk)
        assert r.status_code == 409 and r.json()["error"]["code"] == "service_closed"
        assert start.replace(":", ".") in r.json()["error"]["message"]
