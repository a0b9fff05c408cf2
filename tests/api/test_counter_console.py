"""Counter officer console: browser sessions, the authorization matrix, lock-out, take-over,
and the end-of-day close-out."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa

from app.db.models import AuditLog, Counter, Ticket, TicketEvent, User
from app.services import config, endofday
from app.services.context import Ctx
from app.services.mallfile import SYSTEM
from tests.conftest import auth
from tests.support.world import PASSWORD

ALL_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Friday 27 November 2026, 10:00 WIB (Asia/Jakarta, UTC+7).
MORNING = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


def client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def sign_in(c: httpx.AsyncClient, username: str, password: str = PASSWORD
                  ) -> httpx.Response:
    page = await c.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return await c.post("/login", data={"username": username, "password": password,
                                        "csrf_token": token, "next": ""})


async def staff(c: httpx.AsyncClient, username: str) -> dict[str, str]:
    """Sign in through the browser form; return the X-CSRF-Token header the pages send."""
    r = await sign_in(c, username)
    assert r.status_code == 303, r.text
    page = await c.get("/counter")
    assert page.status_code == 200
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text).group(1)
    return {"X-CSRF-Token": csrf}


async def issue(api, world, service_id: int, priority: str | None = None) -> dict:
    r = await api.post("/api/v1/tickets", json={"service_id": service_id, "priority": priority},
                       headers=auth(world.kiosk_token))
    assert r.status_code == 201, r.text
    return r.json()


def second_officer(session, world) -> User:
    ctx = Ctx(session=session, now=datetime.now(UTC), actor=SYSTEM)
    user = config.create_user(ctx, {"username": "petugas-duk-2", "password": PASSWORD,
                                    "role": "officer", "agency_id": world.dukcapil.id,
                                    "full_name": "Petugas Kedua"})
    session.commit()
    return user


async def test_signed_out_gets_login_page_and_401(api, world):
    r = await api.get("/counter")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/counter"
    r = await api.get(f"/counter/{world.c1.id}")
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    for method, path in (("GET", f"/api/v1/counters/{world.c1.id}/console"),
                         ("POST", f"/api/v1/counters/{world.c1.id}/open"),
                         ("POST", f"/api/v1/counters/{world.c1.id}/call-next"),
                         ("POST", f"/api/v1/sites/{world.site.id}/close-day")):
        r = await api.request(method, path)
        assert r.status_code == 401, (path, r.text)
        assert r.json()["error"]["code"] == "not_authenticated"


async def test_authorization_matrix(app, api, world, session):
    duk = await staff(api, world.officer_d.username)
    async with client(app) as imi_client, client(app) as mgr_client, client(app) as adm_client:
        imi = await staff(imi_client, world.officer_i.username)
        mgr = await staff(mgr_client, world.manager.username)
        adm = await staff(adm_client, world.admin.username)

        # The picker lists the officer's own agency only.
        page = (await api.get("/counter")).text
        assert "Loket 1" in page and "Loket 2" in page and "Loket 3" not in page

        # Officer of agency B (Imigrasi) on agency A's counter: 403, page and API alike.
        r = await imi_client.post(f"/api/v1/counters/{world.c1.id}/open", headers=imi)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        r = await imi_client.get(f"/api/v1/counters/{world.c1.id}/console")
        assert r.status_code == 403
        r = await imi_client.get(f"/counter/{world.c1.id}")
        assert r.status_code == 403 and 'data-code="forbidden"' in r.text
        assert (await imi_client.post(f"/api/v1/counters/{world.c3.id}/open",
                                      headers=imi)).status_code == 200

        # Cookie session without (or with a wrong) CSRF header: 403 csrf_failed.
        r = await api.post(f"/api/v1/counters/{world.c1.id}/open")
        assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"
        r = await api.post(f"/api/v1/counters/{world.c1.id}/open",
                           headers={"X-CSRF-Token": imi["X-CSRF-Token"]})
        assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"
        r = await api.post(f"/api/v1/counters/{world.c1.id}/open", headers=duk)
        assert r.status_code == 200, r.text
        page = await api.get(f"/counter/{world.c1.id}")
        assert page.status_code == 200 and 'data-mode="operate"' in page.text
        assert 'data-action="call-next"' in page.text and "<kbd>P</kbd>" in page.text

        # A manager watches any counter in scope, read-only.
        r = await mgr_client.get(f"/api/v1/counters/{world.c1.id}/console")
        assert r.status_code == 200 and r.json()["counter"]["officer"] == "Petugas Dukcapil"
        page = await mgr_client.get(f"/counter/{world.c1.id}")
        assert 'data-mode="watch"' in page.text and "transfer-dialog" not in page.text
        r = await mgr_client.post(f"/api/v1/counters/{world.c1.id}/call-next", headers=mgr)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        r = await mgr_client.post(f"/api/v1/sites/{world.site.id}/close-day", headers=mgr)
        assert r.status_code == 403

        # The admin closes a counter left open.
        r = await adm_client.post(f"/api/v1/counters/{world.c1.id}/close", headers=adm)
        assert r.status_code == 200 and r.json()["is_open"] is False
        r = await api.post(f"/api/v1/counters/{world.c1.id}/call-next", headers=duk)
        assert r.status_code == 409 and r.json()["error"]["code"] == "counter_closed"


async def test_console_snapshot(api, world):
    t1 = await issue(api, world, world.ktp.id)
    t2 = await issue(api, world, world.kk.id, priority="lansia")
    await issue(api, world, world.paspor.id)  # another agency's queue: not on this console
    duk = await staff(api, world.officer_d.username)
    assert (await api.post(f"/api/v1/counters/{world.c1.id}/open", headers=duk)).status_code == 200
    snap = (await api.get(f"/api/v1/counters/{world.c1.id}/console")).json()
    assert snap["current"] is None and snap["waiting_count"] == 2
    assert [t["number"] for t in snap["waiting"]] == [t2["number"], t1["number"]]
    assert snap["waiting"][0]["priority"] == "lansia"
    r = await api.post(f"/api/v1/counters/{world.c1.id}/call-next", headers=duk)
    assert r.json()["number"] == t2["number"]
    for action in ("start", "finish"):
        assert (await api.post(f"/api/v1/tickets/{t2['id']}/{action}",
                               headers=duk)).status_code == 200
    r = await api.post(f"/api/v1/counters/{world.c1.id}/call-next", headers=duk)
    assert r.json()["number"] == t1["number"]
    r = await api.post(f"/api/v1/tickets/{t1['id']}/hold", headers=duk)
    assert r.json()["status"] == "held"
    snap = (await api.get(f"/api/v1/counters/{world.c1.id}/console")).json()
    assert snap["current"] is None and snap["waiting_count"] == 0
    assert [t["number"] for t in snap["held"]] == [t1["number"]]
    assert snap["served_today"] == 1
    assert snap["counter"]["officer"] == "Petugas Dukcapil"
    # The held ticket is called back to this counter.
    r = await api.post(f"/api/v1/tickets/{t1['id']}/call", json={"counter_id": world.c1.id},
                       headers=duk)
    assert r.status_code == 200 and r.json()["status"] == "called"
    snap = (await api.get(f"/api/v1/counters/{world.c1.id}/console")).json()
    assert snap["current"]["number"] == t1["number"] and snap["current"]["call_count"] == 2
    assert snap["current"]["first_called_at"] is not None and snap["held"] == []
    # Bahasa Indonesia first; English from the catalog on request.
    page = await api.get(f"/counter/{world.c1.id}")
    assert "Panggil berikutnya" in page.text and "Call next" not in page.text
    page = await api.get(f"/counter/{world.c1.id}?lang=en")
    assert "Call next" in page.text and "Panggil berikutnya" not in page.text


async def test_take_over_is_asked_recorded_and_one_officer_per_counter(app, api, world, session):
    other = second_officer(session, world)
    first = await staff(api, world.officer_d.username)
    assert (await api.post(f"/api/v1/counters/{world.c1.id}/open",
                           headers=first)).status_code == 200
    async with client(app) as c2:
        second = await staff(c2, other.username)
        r = await c2.post(f"/api/v1/counters/{world.c1.id}/open", headers=second)
        assert r.status_code == 409 and r.json()["error"]["code"] == "counter_in_use"
        assert "Petugas Dukcapil" in r.json()["error"]["message"]
        # Picker shows who holds it.
        assert "Dipakai oleh" in (await c2.get("/counter")).text
        r = await c2.post(f"/api/v1/counters/{world.c1.id}/open", json={"take_over": True},
                          headers=second)
        assert r.status_code == 200 and r.json()["officer_id"] == other.id
        row = session.scalars(sa.select(AuditLog).where(
            AuditLog.action == "counter_open", AuditLog.entity_id == world.c1.id)
            .order_by(AuditLog.id.desc())).first()
        assert row.user_id == other.id
        assert row.changes == {"take_over": True, "taken_over_from": world.officer_d.id}
        t = await issue(api, world, world.ktp.id)
        # The officer whose counter was taken over only watches now.
        r = await api.post(f"/api/v1/counters/{world.c1.id}/call-next", headers=first)
        assert r.status_code == 409 and r.json()["error"]["code"] == "counter_in_use"
        assert "Petugas Kedua" in r.json()["error"]["message"]
        r = await c2.post(f"/api/v1/counters/{world.c1.id}/call-next", headers=second)
        assert r.status_code == 200 and r.json()["id"] == t["id"]
        r = await api.post(f"/api/v1/tickets/{t['id']}/no-show", headers=first)
        assert r.status_code == 409 and r.json()["error"]["code"] == "counter_in_use"
        r = await api.post(f"/api/v1/counters/{world.c1.id}/close", headers=first)
        assert r.status_code == 409
        event = session.scalars(sa.select(TicketEvent).where(
            TicketEvent.ticket_id == t["id"], TicketEvent.type == "called")).one()
        assert (event.user_id, event.counter_id) == (other.id, world.c1.id)


def _hours(session, world, ranges=(("08:00", "16:00"),)) -> None:
    for service in (world.ktp, world.kk, world.paspor):
        service.opening_hours = {d: [list(r) for r in ranges] for d in ALL_DAYS}
    session.commit()


async def test_end_of_day_close_out(api, world, session, session_factory, clock):
    _hours(session, world)
    clock.set(MORNING)
    waiting = await issue(api, world, world.ktp.id)
    called = await issue(api, world, world.kk.id)
    held = await issue(api, world, world.paspor.id)
    duk = auth((await api.post("/api/v1/auth/token", data={
        "username": world.officer_d.username, "password": PASSWORD})).json()["access_token"])
    imi = auth((await api.post("/api/v1/auth/token", data={
        "username": world.officer_i.username, "password": PASSWORD})).json()["access_token"])
    await api.post(f"/api/v1/counters/{world.c1.id}/open", headers=duk)
    await api.post(f"/api/v1/counters/{world.c3.id}/open", headers=imi)
    # c1 takes the priority-less head of its queue: the KTP ticket, then no-shows it.
    assert (await api.post(f"/api/v1/counters/{world.c1.id}/call-next",
                           headers=duk)).json()["id"] == waiting["id"]
    await api.post(f"/api/v1/tickets/{waiting['id']}/no-show", headers=duk)
    assert (await api.post(f"/api/v1/counters/{world.c1.id}/call-next",
                           headers=duk)).json()["id"] == called["id"]
    await api.post(f"/api/v1/counters/{world.c3.id}/call-next", headers=imi)
    await api.post(f"/api/v1/tickets/{held['id']}/hold", headers=imi)
    late = await issue(api, world, world.ktp.id)

    # 15:50: still open; 16:10: closed but inside the grace period. Nothing happens to today.
    for local_time in ((15, 50), (16, 10)):
        now = MORNING.replace(hour=local_time[0] - 7, minute=local_time[1])
        assert not endofday.is_day_over(session, world.site, now)
        done = endofday.run_once(session_factory, now)
        assert all(d.day != MORNING.date() for d in done)
        assert sum(d.tickets_closed for d in done) == 0
    # 16:31: the day is over; unserved tickets and open counters are closed out.
    after = MORNING.replace(hour=9, minute=31)
    done = endofday.run_once(session_factory, after)
    assert [(d.site_id, d.day, d.tickets_closed, d.counters_closed) for d in done] == [
        (world.site.id, MORNING.date(), 3, 2)]
    session.expire_all()
    statuses = {t.id: t.status for t in session.scalars(sa.select(Ticket))}
    assert statuses == {waiting["id"]: "no_show", called["id"]: "closed_out",
                        held["id"]: "closed_out", late["id"]: "closed_out"}
    events = session.scalars(sa.select(TicketEvent).where(TicketEvent.type == "closed_out")
                             .order_by(TicketEvent.ticket_id)).all()
    assert [(e.ticket_id, e.from_status, e.counter_id, e.note) for e in events] == [
        (called["id"], "called", world.c1.id, "tutup hari"),
        (held["id"], "held", world.c3.id, "tutup hari"),
        (late["id"], "waiting", None, "tutup hari"),
    ]
    assert not any(c.is_open for c in session.scalars(sa.select(Counter)))
    # Nothing is deleted, and a second run (another worker, a minute later) does nothing.
    assert session.scalar(sa.select(sa.func.count()).select_from(Ticket)) == 4
    assert endofday.run_once(session_factory, after + timedelta(minutes=1)) == []
    # An officer working overtime reopens; the job does not close the counter again today.
    await api.post(f"/api/v1/counters/{world.c1.id}/open", headers=duk)
    assert endofday.run_once(session_factory, after + timedelta(minutes=5)) == []


async def test_yesterdays_leftovers_are_swept_next_morning(api, world, session, session_factory,
                                                           clock):
    _hours(session, world)
    clock.set(MORNING)
    left = await issue(api, world, world.ktp.id)
    duk = auth((await api.post("/api/v1/auth/token", data={
        "username": world.officer_d.username, "password": PASSWORD})).json()["access_token"])
    await api.post(f"/api/v1/counters/{world.c1.id}/open", headers=duk)
    # The server was down at closing time. Next morning at 07:30 a colleague opens c2.
    next_morning = MORNING + timedelta(days=1) - timedelta(hours=2, minutes=30)
    clock.set(next_morning)
    await api.post(f"/api/v1/counters/{world.c2.id}/open", headers=duk)
    done = endofday.run_once(session_factory, next_morning)
    assert [(d.day, d.tickets_closed, d.counters_closed) for d in done] == [
        (MORNING.date(), 1, 1)]
    session.expire_all()
    assert session.get(Ticket, left["id"]).status == "closed_out"
    assert session.get(Counter, world.c1.id).is_open is False
    assert session.get(Counter, world.c2.id).is_open is True


@pytest.mark.parametrize("hours_kind", ["always", "holiday"])
def test_day_end_rules(session, world, hours_kind):
    if hours_kind == "always":
        # A service open round the clock: the day ends at midnight, never "after closing".
        assert endofday.day_end(session, world.site, MORNING.date()) is None
        assert not endofday.is_day_over(session, world.site, MORNING + timedelta(hours=16))
    else:
        for service in (world.ktp, world.kk, world.paspor):
            service.opening_hours = {"mon": [["08:00", "12:00"]]}
        session.flush()
        # Friday: nothing opens, so the day is over from its start (plus the grace period).
        assert endofday.is_day_over(session, world.site, MORNING)


async def test_admin_closes_the_day_now(api, world, session, clock):
    _hours(session, world)
    clock.set(MORNING)
    t = await issue(api, world, world.ktp.id)
    duk = await staff(api, world.officer_d.username)
    await api.post(f"/api/v1/counters/{world.c1.id}/open", headers=duk)
    r = await api.post(f"/api/v1/sites/{world.site.id}/close-day", headers=duk)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    admin = auth((await api.post("/api/v1/auth/token", data={
        "username": world.admin.username, "password": PASSWORD})).json()["access_token"])
    r = await api.post(f"/api/v1/sites/{world.site.id}/close-day", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json() == {"site_id": world.site.id, "day": "2026-11-27", "tickets_closed": 1,
                        "counters_closed": 1}
    session.expire_all()
    assert session.get(Ticket, t["id"]).status == "closed_out"
    event = session.scalars(sa.select(TicketEvent).where(
        TicketEvent.ticket_id == t["id"], TicketEvent.type == "closed_out")).one()
    assert event.user_id == world.admin.id
    assert session.scalars(sa.select(AuditLog.action).where(
        AuditLog.action == "close_day")).all() == ["close_day"]
    r = await api.post("/api/v1/sites/999999/close-day", headers=admin)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
