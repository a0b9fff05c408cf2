"""The kiosk's issue on asyncio connections (app/services/kiosk_issue.py): the same decision, a leaner store.

PostgreSQL only (SQLite has no such path). The app runs with its lifespan on a committed
database, so the kiosk pool is real; the metric mpp_ticket_issue_path_total says which path
answered each request.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import issue_sql
from app.db.models import Device, IdempotencyKey, Service, ServiceDay, Ticket, TicketEvent
from app.main import create_app
from app.services import auth, tickets
from tests.conftest import Clock
from tests.support.databases import PG_URL, create_database, drop_database
from tests.support.world import World, build_world

pytestmark = pytest.mark.skipif(not PG_URL, reason="MPP_TEST_DATABASE_URL is not set")

NOON_WIB = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)  # a Monday, 12.00 in Jakarta


@pytest.fixture
def db(tmp_path: Any) -> Iterator[tuple[str, sa.Engine]]:
    from app.db.migrate import upgrade

    url = create_database("postgresql", tmp_path)
    upgrade(url)
    engine = sa.create_engine(url)
    try:
        yield url, engine
    finally:
        engine.dispose()
        drop_database(url)


@pytest.fixture
def mall(db: tuple[str, sa.Engine]) -> World:
    with Session(db[1], expire_on_commit=False) as session:
        world = build_world(session, now=NOON_WIB)
        session.commit()
    return world


@pytest.fixture
def clock() -> Clock:
    return Clock(NOON_WIB)


async def _running(url: str, clock: Clock, bus: str = "memory"
                   ) -> tuple[Any, httpx.AsyncClient, Any]:
    app = create_app(Settings(database_url=url, env="test", bus=bus, db_async_pool_size=2),
                     clock=clock)
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    await app.state.kiosk_pool.wait()  # its first connection
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
    return app, client, lifespan


@pytest.fixture
async def server(db: tuple[str, sa.Engine], mall: World, clock: Clock
                 ) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    issue_sql._TZ_HINT.clear()  # the first issue of a service goes the reference way
    app, client, lifespan = await _running(db[0], clock)
    try:
        yield app, client
    finally:
        await client.aclose()
        await lifespan.__aexit__(None, None, None)


def _paths(app: Any) -> dict[str, float]:
    counter = app.state.metrics.issue_path
    return {p: counter.labels(p)._value.get() for p in ("asyncio", "reference")}


async def _issue(client: httpx.AsyncClient, token: str, service_id: int, *,
                 key: str | None = None, priority: str | None = None, **headers: str
                 ) -> httpx.Response:
    body: dict[str, Any] = {"service_id": service_id}
    if priority is not None:
        body["priority"] = priority
    return await client.post("/api/v1/tickets", json=body, headers={
        "Authorization": f"Bearer {token}", "Idempotency-Key": key or uuid.uuid4().hex,
        **headers})


async def test_kiosk_tickets_are_numbered_keyed_and_counted(server, mall, db, clock):
    app, client = server
    svc = mall.ktp
    answers = []
    for i, priority in enumerate([None, None, "lansia", None, "disabilitas", None, None]):
        r = await _issue(client, mall.kiosk_token, svc.id, priority=priority)
        assert r.status_code == 201, r.text
        answers.append(r.json())
        if i == 0:
            assert _paths(app) == {"asyncio": 0, "reference": 1}  # it learnt the time zone
    assert _paths(app) == {"asyncio": 6, "reference": 1}
    assert [a["number"] for a in answers] == [f"A-{n:03d}" for n in range(1, 8)]
    with Session(db[1]) as session:
        service = session.get(Service, svc.id)
        for answer in answers:
            ticket = session.scalars(sa.select(Ticket).where(
                Ticket.tracking_code == answer["tracking_code"])).one()
            assert ticket.id == answer["id"] and ticket.number == answer["number"]
            assert ticket.status == "waiting" and ticket.channel == "kiosk"
            assert ticket.priority == answer["priority"]
            assert ticket.issued_at == datetime.fromisoformat(answer["issued_at"])
            event = session.scalars(sa.select(TicketEvent).where(
                TicketEvent.ticket_id == ticket.id)).one()
            assert (event.type, event.hour, event.day) == ("issued", 12, ticket.day)
            key = session.scalars(sa.select(IdempotencyKey).where(
                IdempotencyKey.ticket_id == ticket.id)).one()
            assert key.scope == f"device:{mall.kiosk.id}"
            assert key.request_hash == tickets.request_fingerprint(svc.id, ticket.priority)
        # People ahead and the estimate, as the reference computes them now: every answer
        # counted the tickets before it, so only later priority tickets change the picture.
        last = session.scalars(sa.select(Ticket).where(Ticket.id == answers[-1]["id"])).one()
        ahead = tickets.people_ahead(session, last)
        assert answers[-1]["people_ahead"] == ahead == 6
        assert answers[-1]["estimated_wait_minutes"] == tickets.estimate_for(
            session, service, ahead, last.day)
        first_priority = answers[2]
        assert first_priority["people_ahead"] == 0  # nobody but priority tickets goes first
        assert session.get(ServiceDay, (svc.id, last.day)).last_seq == 7


async def test_a_retry_gets_the_same_ticket_and_a_changed_request_a_conflict(server, mall):
    app, client = server
    await _issue(client, mall.kiosk_token, mall.ktp.id)  # learns the zone
    key = uuid.uuid4().hex
    first = await _issue(client, mall.kiosk_token, mall.ktp.id, key=key)
    again = await _issue(client, mall.kiosk_token, mall.ktp.id, key=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    other = await _issue(client, mall.kiosk_token, mall.kk.id, key=key)
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_conflict"
    assert _paths(app)["asyncio"] == 1


async def test_racing_twins_get_one_ticket_and_no_gap(server, mall, db):
    app, client = server
    await _issue(client, mall.kiosk_token, mall.ktp.id)
    for _ in range(3):
        key = uuid.uuid4().hex
        answers = await asyncio.gather(*(_issue(client, mall.kiosk_token, mall.ktp.id, key=key)
                                         for _ in range(8)))
        assert sorted(r.status_code for r in answers) == [200] * 7 + [201]
        assert len({r.json()["id"] for r in answers}) == 1
    after = await _issue(client, mall.kiosk_token, mall.ktp.id)
    assert after.json()["number"] == "A-005"
    with Session(db[1]) as session:
        numbers = session.scalars(sa.select(Ticket.number).where(
            Ticket.service_id == mall.ktp.id).order_by(Ticket.seq)).all()
    assert numbers == ["A-001", "A-002", "A-003", "A-004", "A-005"]


async def test_everything_else_is_answered_by_the_reference(server, mall, db):
    app, client = server
    await _issue(client, mall.kiosk_token, mall.paspor.id)  # learns the zone; quota 30
    with Session(db[1], expire_on_commit=False) as session:
        session.execute(sa.update(Service).where(Service.id == mall.paspor.id)
                        .values(daily_quota=2))
        # Open at 14.00 only, on Mondays.
        session.execute(sa.update(Service).where(Service.id == mall.kk.id)
                        .values(opening_hours={"mon": [["14:00", "15:00"]]}))
        token, token_hash = auth.new_device_token()
        session.add(Device(site_id=mall.site.id, kind="display", name="Papan",
                           token_hash=token_hash))
        other = build_world(session, now=NOON_WIB, site_code="mpp-lain")
        session.commit()
    await _issue(client, mall.kiosk_token, other.ktp.id)  # learns that zone too (403)
    before = _paths(app)

    assert (await _issue(client, mall.kiosk_token, mall.paspor.id)).status_code == 201
    refused = await _issue(client, mall.kiosk_token, mall.paspor.id, **{"Accept-Language": "en"})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "quota_exhausted"
    assert refused.json()["error"]["message"].startswith("Today's quota")
    closed = await _issue(client, mall.kiosk_token, mall.kk.id)
    assert closed.json()["error"]["code"] == "service_closed"
    assert (await _issue(client, token, mall.ktp.id)).status_code == 403  # a display
    assert (await _issue(client, mall.kiosk_token, other.ktp.id)).status_code == 403
    assert (await _issue(client, mall.kiosk_token, 999_999)).status_code == 404
    assert (await _issue(client, "dev_" + "x" * 32, mall.ktp.id)).status_code == 401
    with Session(db[1]) as session:
        session.execute(sa.update(Device).where(Device.id == mall.kiosk.id)
                        .values(is_active=False))
        session.commit()
    assert (await _issue(client, mall.kiosk_token, mall.ktp.id)).status_code == 401

    after = _paths(app)
    assert after["asyncio"] - before["asyncio"] == 1  # the second passport ticket only
    assert after["reference"] - before["reference"] == 7
    with Session(db[1]) as session:
        day = session.scalars(sa.select(ServiceDay).where(
            ServiceDay.service_id == mall.paspor.id)).one()
        assert (day.last_seq, day.quota_used) == (2, 2)
        keys = session.scalar(sa.select(sa.func.count()).select_from(IdempotencyKey)
                              .where(IdempotencyKey.ticket_id.is_(None)))
        assert keys == 0  # no refused request kept its key


async def test_the_notification_carries_the_ticket(db, mall, clock):
    issue_sql._TZ_HINT.clear()
    app, client, lifespan = await _running(db[0], clock, bus="postgres")
    try:
        for _ in range(50):  # the LISTEN connection
            if app.state.bus.healthy:
                break
            await asyncio.sleep(0.05)
        sub = app.state.bus.subscribe()
        answers = [(await _issue(client, mall.kiosk_token, mall.ktp.id)).json()
                   for _ in range(2)]
        assert _paths(app) == {"asyncio": 1, "reference": 1}
        heard = [await asyncio.wait_for(sub.get(), 5) for _ in range(2)]
        assert [(e.type, e.data["ticket_id"], e.data["number"]) for e in heard] == [
            ("ticket.issued", a["id"], a["number"]) for a in answers]
        assert heard[1].data["service_id"] == mall.ktp.id
        sub.close()
    finally:
        await client.aclose()
        await lifespan.__aexit__(None, None, None)


async def test_a_terminated_connection_is_replaced_unnoticed(server, mall, db):
    app, client = server
    assert (await _issue(client, mall.kiosk_token, mall.ktp.id)).status_code == 201
    assert (await _issue(client, mall.kiosk_token, mall.ktp.id)).status_code == 201
    name = db[0].rpartition("/")[2]
    with psycopg.connect(PG_URL.replace("+psycopg", ""), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
    await asyncio.sleep(0.3)  # the goodbye reaches the idle sockets
    r = await _issue(client, mall.kiosk_token, mall.ktp.id)
    assert r.status_code == 201 and r.json()["number"] == "A-003"
    assert _paths(app)["asyncio"] == 2


async def test_a_twin_holding_the_key_is_waited_for_before_the_days_row(server, mall, db):
    """The reference path claims the key, then takes the day's row; the kiosk's write must ask
    in the same order, or a twin on each path deadlocks (found by test_concurrency)."""
    app, client = server
    await _issue(client, mall.kiosk_token, mall.ktp.id)  # the day's row exists; zone known
    await _issue(client, mall.kiosk_token, mall.ktp.id)
    key = uuid.uuid4().hex
    with psycopg.connect(db[0].replace("+psycopg", "")) as twin:
        twin.execute("INSERT INTO idempotency_key (scope, key, request_hash, created_at) "
                     "VALUES (%s, %s, 'x', now())", (f"device:{mall.kiosk.id}", key))
        request = asyncio.create_task(_issue(client, mall.kiosk_token, mall.ktp.id, key=key))
        await asyncio.sleep(0.5)  # the request now waits for the twin's key
        assert not request.done()
        twin.execute("SET lock_timeout = '500ms'")
        twin.execute("UPDATE service_day SET last_seq = last_seq WHERE service_id = %s",
                      (mall.ktp.id,))  # free: the waiting write holds no lock on it
        twin.rollback()  # the twin gives up; the request goes on
        r = await request
    assert r.status_code == 201 and r.json()["number"] == "A-003"
    assert _paths(app)["asyncio"] == 2
