"""An officer's call-next and start on asyncio connections (app/services/counter_calls.py).

PostgreSQL only (SQLite has no such path). The app runs with its lifespan on a committed
database, so the asyncio pool is real; mpp_counter_call_path_total says which path answered.
The same working day is run once with the lean path and once on the reference path alone
(no asyncio pool), on two fresh databases: the answers, the rows and the events must match.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.config import Settings
from app.db.models import Counter, OutboxMessage, Ticket, TicketEvent
from app.main import create_app
from app.services import counter_calls
from tests.conftest import Clock
from tests.support.databases import PG_URL, create_database, drop_database
from tests.support.world import PASSWORD, World, build_world

pytestmark = pytest.mark.skipif(not PG_URL, reason="MPP_TEST_DATABASE_URL is not set")

NOON_WIB = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)  # a Monday, 12.00 in Jakarta


@pytest.fixture
def make_db(tmp_path: Any) -> Iterator[Any]:
    from app.db.migrate import upgrade

    made: list[tuple[str, sa.Engine]] = []

    def make() -> tuple[str, sa.Engine, World]:
        url = create_database("postgresql", tmp_path)
        upgrade(url)
        engine = sa.create_engine(url)
        made.append((url, engine))
        with Session(engine, expire_on_commit=False) as session:
            world = build_world(session, now=NOON_WIB)
            session.commit()
        return url, engine, world

    try:
        yield make
    finally:
        for url, engine in made:
            engine.dispose()
            drop_database(url)


@asynccontextmanager
async def running(url: str, clock: Clock, *, lean: bool, pool: int = 3
                  ) -> AsyncIterator[tuple[Any, Any]]:
    counter_calls._TZ_HINT.clear()  # the first call of a counter reads twice (learns the zone)
    app = create_app(Settings(database_url=url, env="test", bus="memory",
                              db_async_pool_size=pool if lean else 0), clock=clock)
    async with app.router.lifespan_context(app):
        if lean:
            await app.state.kiosk_pool.wait()
        sent: list[Any] = []
        bus = app.state.bus
        original = bus.publish_after_commit

        def capture(events: list[Any]) -> None:
            sent.extend(events)
            original(events)

        bus.publish_after_commit = capture
        app.state.sent = sent
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://test") as client:
            yield app, client


async def _token(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    r = await client.post("/api/v1/auth/token", data={"username": username,
                                                       "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def _issue(client: httpx.AsyncClient, world: World, service_id: int,
                 priority: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"service_id": service_id}
    if priority:
        body["priority"] = priority
    r = await client.post("/api/v1/tickets", json=body, headers={
        "Authorization": f"Bearer {world.kiosk_token}", "Idempotency-Key": uuid.uuid4().hex})
    assert r.status_code == 201, r.text
    return r.json()


def _paths(app: Any) -> dict[tuple[str, str], float]:
    c = app.state.metrics.call_path
    return {(a, p): c.labels(a, p)._value.get() for a in ("call_next", "start")
            for p in ("asyncio", "reference")}


async def _working_day(url: str, engine: sa.Engine, world: World, *, lean: bool
                       ) -> dict[str, Any]:
    """Seven regular and five priority tickets over two services, served by counter 1 (and a
    few by counter 2): priority first, a regular one after three priority calls in a row."""
    clock = Clock(NOON_WIB)
    answers: list[Any] = []
    async with running(url, clock, lean=lean) as (app, client):
        officer = await _token(client, world.officer_d.username)
        for svc, prio in [(world.ktp.id, None), (world.kk.id, None), (world.ktp.id, "lansia"),
                          (world.ktp.id, None), (world.kk.id, "ibu_hamil"),
                          (world.ktp.id, "lansia"), (world.ktp.id, None),
                          (world.kk.id, "anak"), (world.ktp.id, None),
                          (world.ktp.id, "disabilitas"), (world.kk.id, None),
                          (world.ktp.id, None)]:
            clock.set(clock.now + timedelta(seconds=7))
            await _issue(client, world, svc, prio)
        for c in (world.c1, world.c2):
            r = await client.post(f"/api/v1/counters/{c.id}/open", headers=officer)
            assert r.status_code == 200, r.text
        n = 0
        while True:
            counter = world.c2 if n % 4 == 3 else world.c1
            n += 1
            clock.set(clock.now + timedelta(seconds=65))
            r = await client.post(f"/api/v1/counters/{counter.id}/call-next", headers=officer)
            answers.append((r.status_code, r.json() if r.status_code == 200 else None))
            if r.status_code == 204:
                if counter is world.c2:
                    continue
                break
            assert r.status_code == 200, r.text
            clock.set(clock.now + timedelta(seconds=30))
            r = await client.post(f"/api/v1/tickets/{r.json()['id']}/start", headers=officer)
            assert r.status_code == 200, r.text
            answers.append((r.status_code, r.json()))
        # A start refused the same way on both paths: the ticket is served already.
        r = await client.post(f"/api/v1/tickets/{answers[-2][1]['id']}/start", headers=officer)
        answers.append((r.status_code, r.json()["error"]["code"]))
        paths = _paths(app)
        sent = [(e.type, {k: v for k, v in e.data.items()}) for e in app.state.sent
                if e.type.startswith("ticket.") and e.type != "ticket.issued"]
    e = TicketEvent.__table__.c
    t = Ticket.__table__.c
    with engine.connect() as conn:
        events = [tuple(r) for r in conn.execute(
            sa.select(e.ticket_id, e.type, e.from_status, e.to_status, e.counter_id, e.user_id,
                      e.at, e.day, e.hour, e.weekday, e.priority, e.duration_seconds, e.note,
                      e.site_id, e.agency_id, e.service_id)
            .where(e.type != "issued").order_by(e.id))]
        rows = [tuple(r) for r in conn.execute(
            sa.select(t.id, t.number, t.status, t.counter_id, t.officer_id, t.called_at,
                      t.first_called_at, t.started_at, t.finished_at, t.call_count)
            .order_by(t.id))]
        streaks = [tuple(r) for r in conn.execute(
            sa.select(Counter.id, Counter.priority_streak).order_by(Counter.id))]
    for _, a in answers:
        if isinstance(a, dict):
            a.pop("tracking_code", None)
    return {"answers": answers, "events": events, "rows": rows, "streaks": streaks,
            "sent": sent, "paths": paths}


async def test_lean_calls_answer_and_write_as_the_reference_does(make_db):
    url_a, engine_a, world_a = make_db()
    url_b, engine_b, world_b = make_db()
    lean = await _working_day(url_a, engine_a, world_a, lean=True)
    reference = await _working_day(url_b, engine_b, world_b, lean=False)
    assert lean["answers"] == reference["answers"]
    assert lean["events"] == reference["events"]
    assert lean["rows"] == reference["rows"]
    assert lean["streaks"] == reference["streaks"]
    assert lean["sent"] == reference["sent"]
    # Priority first, but never more than three in a row while regular citizens wait.
    called = [a for code, a in lean["answers"] if code == 200 and a["status"] == "called"
              and a["counter_id"] == world_a.c1.id]
    assert [a["priority"] is not None for a in called][:5] == [True, True, True, False, True]
    assert {r[2] for r in lean["rows"]} <= {"done", "serving"}  # nobody left waiting
    # The lean path did the work: only the calls that found nobody waiting (204) and the
    # refused start went the reference way.
    paths = lean["paths"]
    empty = sum(1 for code, _ in lean["answers"] if code == 204)
    assert paths[("call_next", "reference")] == empty
    assert paths[("call_next", "asyncio")] >= 10
    assert paths[("start", "asyncio")] == 12 and paths[("start", "reference")] == 1
    assert reference["paths"] == dict.fromkeys(reference["paths"], 0)


async def test_a_citizens_message_takes_the_reference_way(make_db):
    """A phone given with a ticket: call-next goes the reference way, which writes the
    messages (ticket_called, ticket_ahead, ticket_done) in the call's transaction."""
    url, engine, world = make_db()
    clock = Clock(NOON_WIB)
    async with running(url, clock, lean=True) as (app, client):
        officer = await _token(client, world.officer_d.username)
        first = await _issue(client, world, world.ktp.id)
        r = await client.post(f"/api/v1/tickets/{first['id']}/contact", headers=officer,
                              json={"phone": "081234567890", "consent": True})
        assert r.status_code == 200, r.text
        for _ in range(2):
            await _issue(client, world, world.ktp.id)
        await client.post(f"/api/v1/counters/{world.c1.id}/open", headers=officer)
        ids = []
        for _ in range(3):
            r = await client.post(f"/api/v1/counters/{world.c1.id}/call-next",
                                  headers=officer)
            assert r.status_code == 200, r.text
            ids.append(r.json()["id"])
            r = await client.post(f"/api/v1/tickets/{ids[-1]}/start", headers=officer)
            assert r.status_code == 200, r.text
        r = await client.post(f"/api/v1/counters/{world.c1.id}/call-next", headers=officer)
        assert r.status_code == 204
        paths = _paths(app)
    assert ids[0] == first["id"]
    # The first call (the ticket with a phone) and the second (it finishes that ticket) went
    # the reference way; the third, with no message due, the lean one.
    assert paths[("call_next", "reference")] >= 2 and paths[("call_next", "asyncio")] >= 1
    with Session(engine) as session:
        topics = sorted(m.topic for m in session.scalars(sa.select(OutboxMessage)))
    assert topics == ["ticket_called", "ticket_done", "ticket_taken"]


async def test_racing_calls_never_give_a_counter_two_tickets(make_db):
    """Call-next sent twice at once on each of two counters (a double click), round after
    round: every ticket is called once, and a counter never holds two."""
    url, engine, world = make_db()
    clock = Clock(NOON_WIB)
    async with running(url, clock, lean=True) as (app, client):
        officer = await _token(client, world.officer_d.username)
        for i in range(24):
            await _issue(client, world, world.ktp.id if i % 2 else world.kk.id,
                         "lansia" if i % 5 == 0 else None)
        for c in (world.c1, world.c2):
            await client.post(f"/api/v1/counters/{c.id}/open", headers=officer)
        called: list[int] = []
        for _ in range(20):
            clock.set(clock.now + timedelta(seconds=60))
            answers = await asyncio.gather(*[
                client.post(f"/api/v1/counters/{c.id}/call-next", headers=officer)
                for c in (world.c1, world.c1, world.c2, world.c2)])
            codes = sorted(r.status_code for r in answers)
            assert set(codes) <= {200, 204, 409}, [r.text for r in answers]
            for r in answers:
                if r.status_code == 409:
                    assert r.json()["error"]["code"] == "counter_busy"
            got = [r.json()["id"] for r in answers if r.status_code == 200]
            called += got
            for tid in set(got):
                r = await client.post(f"/api/v1/tickets/{tid}/start", headers=officer)
                assert r.status_code == 200, r.text
            with engine.connect() as conn:
                active = conn.execute(
                    sa.select(Ticket.counter_id, sa.func.count())
                    .where(Ticket.status.in_(("called", "serving")))
                    .group_by(Ticket.counter_id)).all()
            assert all(n == 1 for _, n in active), active
        assert _paths(app)[("call_next", "asyncio")] > 0
    assert len(called) == len(set(called)) == 24
    with engine.connect() as conn:
        calls = conn.execute(sa.select(TicketEvent.ticket_id, sa.func.count())
                             .where(TicketEvent.type == "called")
                             .group_by(TicketEvent.ticket_id)).all()
    assert len(calls) == 24 and {n for _, n in calls} == {1}


async def test_eight_counters_calling_at_once_each_get_a_ticket_the_lean_way(make_db):
    """Eight counters of one agency press call-next at the same moment, round after round: each
    gets its own ticket, in the lines' order, and none is sent the reference way (the call
    locks the line heads FOR UPDATE SKIP LOCKED, as the reference does, so a head another
    counter is calling is skipped rather than lost)."""
    url, engine, world = make_db()
    with Session(engine, expire_on_commit=False) as session:
        from app.services import config
        from app.services.context import Ctx
        from app.services.mallfile import SYSTEM

        ctx = Ctx(session=session, now=NOON_WIB, actor=SYSTEM)
        counters = [world.c1.id, world.c2.id] + [config.create_counter(ctx, {
            "agency_id": world.dukcapil.id, "name": f"Loket {n}", "number": n, "zone": "A",
            "service_ids": [world.ktp.id, world.kk.id]}).id for n in range(4, 10)]
        session.commit()
    clock = Clock(NOON_WIB)
    async with running(url, clock, lean=True, pool=8) as (app, client):
        officer = await _token(client, world.officer_d.username)
        issued = [(await _issue(client, world, world.ktp.id if i % 2 else world.kk.id))["id"]
                  for i in range(24)]
        for cid in counters:
            r = await client.post(f"/api/v1/counters/{cid}/open", headers=officer)
            assert r.status_code == 200, r.text
        called: list[int] = []
        for _ in range(3):
            clock.set(clock.now + timedelta(seconds=60))
            answers = await asyncio.gather(*[
                client.post(f"/api/v1/counters/{cid}/call-next", headers=officer)
                for cid in counters])
            assert [r.status_code for r in answers] == [200] * 8, [r.text for r in answers]
            got = [r.json()["id"] for r in answers]
            called += got
            for tid in got:
                r = await client.post(f"/api/v1/tickets/{tid}/start", headers=officer)
                assert r.status_code == 200, r.text
        paths = _paths(app)
    assert sorted(called) == issued  # each once, and the 24 first in line
    assert paths[("call_next", "reference")] == 0 and paths[("call_next", "asyncio")] == 24
