"""PostgresBus: real LISTEN/NOTIFY on MPP_TEST_DATABASE_URL (skipped without PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from app.bus.postgres import PostgresBus
from app.domain import events as ev
from app.domain.events import Event
from tests.support.databases import PG_URL, create_database, drop_database

pytestmark = pytest.mark.skipif(not PG_URL, reason="MPP_TEST_DATABASE_URL is not set")


async def wait_until(cond, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


@pytest.fixture
def pg_url(tmp_path) -> str:
    """A database of its own: NOTIFY is per database, so nobody else's test can interfere."""
    url = create_database("postgresql", tmp_path)
    yield url
    drop_database(url)


@pytest.fixture
async def buses(pg_url: str) -> AsyncIterator[list[PostgresBus]]:
    """Two buses, as two server processes would each have one."""
    pair = [PostgresBus(pg_url), PostgresBus(pg_url)]
    for bus in pair:
        await bus.start()
    await wait_until(lambda: all(b.connected for b in pair))
    yield pair
    for bus in pair:
        await bus.stop()


@pytest.fixture
def engine(pg_url: str) -> sa.Engine:
    eng = sa.create_engine(pg_url)
    yield eng
    eng.dispose()


def send(engine: sa.Engine, bus: PostgresBus, events: list[Event], *, commit: bool) -> None:
    """What a request does: NOTIFY inside its transaction, then commit or roll back."""
    with engine.connect() as conn:
        trans = conn.begin()
        bus.emit_in_transaction(conn, events)
        bus.publish_after_commit(events)  # a no-op for postgres: delivery is via LISTEN
        if commit:
            trans.commit()
        else:
            trans.rollback()


def marker(n: int, site_id: int = 1) -> Event:
    return Event(ev.TICKET_CALLED, site_id, {"number": f"A-{n:03d}", "counter": "2"})


async def test_committed_notify_reaches_every_process(buses, engine) -> None:
    subs = [b.subscribe(16) for b in buses]
    events = [marker(1), marker(2), marker(3)]
    await asyncio.to_thread(send, engine, buses[0], events, commit=True)
    for sub in subs:
        got = [await asyncio.wait_for(sub.get(), 5) for _ in range(3)]
        assert got == events  # same content and order in the sender and the other process
    assert buses[1].last_lag_seconds < 5


async def test_rolled_back_notify_is_never_heard(buses, engine) -> None:
    subs = [b.subscribe(16) for b in buses]
    await asyncio.to_thread(send, engine, buses[0], [marker(13)], commit=False)
    # A committed marker sent afterwards is the first thing anyone hears.
    await asyncio.to_thread(send, engine, buses[1], [marker(14)], commit=True)
    for sub in subs:
        first = await asyncio.wait_for(sub.get(), 5)
        assert first.data["number"] == "A-014"
        await asyncio.sleep(0.2)
        assert sub.queue.empty()


async def test_lost_listen_connection_reconnects_and_resyncs(buses, engine) -> None:
    bus = buses[1]
    sub = bus.subscribe(16)
    await bus.drop_connection()
    # Screens are told to take a fresh snapshot: events may have been missed meanwhile.
    first = await asyncio.wait_for(sub.get(), 15)
    assert first.type == ev.RESYNC
    await wait_until(lambda: bus.connected and bus.reconnects == 1)
    await asyncio.to_thread(send, engine, buses[0], [marker(21)], commit=True)
    nxt = await asyncio.wait_for(sub.get(), 5)
    assert nxt.data["number"] == "A-021"


async def test_foreign_payload_on_the_channel_is_ignored(buses, engine) -> None:
    sub = buses[0].subscribe(16)

    def junk() -> None:
        with engine.begin() as conn:
            conn.execute(sa.text("SELECT pg_notify('mpp_events', 'not json at all')"))

    await asyncio.to_thread(junk)
    await asyncio.to_thread(send, engine, buses[0], [marker(31)], commit=True)
    got = await asyncio.wait_for(sub.get(), 5)
    assert got.data["number"] == "A-031" and buses[0].connected


async def test_unit_of_work_notifies_in_its_transaction(buses, engine) -> None:
    """The unit of work sends the events inside its transaction: heard once it commits, in
    order, by every process; an error rolls back and tells nobody."""
    from sqlalchemy.orm import sessionmaker

    from app.services.unit_of_work import unit_of_work

    factory = sessionmaker(engine)
    subs = [b.subscribe(16) for b in buses]
    events = [marker(41), marker(42)]

    def work(fail: bool) -> None:
        with unit_of_work(factory, buses[0], now=datetime.now(UTC)) as ctx:
            ctx.session.execute(sa.text("CREATE TABLE IF NOT EXISTS probe (n int)"))
            ctx.session.execute(sa.text("INSERT INTO probe VALUES (1)"))
            for event in events:
                ctx.emit(event)
            if fail:
                raise RuntimeError("the use case failed")

    with pytest.raises(RuntimeError):
        await asyncio.to_thread(work, True)
    await asyncio.to_thread(work, False)
    for sub in subs:
        got = [await asyncio.wait_for(sub.get(), 5) for _ in range(2)]
        assert got == events
    await asyncio.sleep(0.3)
    assert all(sub.queue.empty() for sub in subs)  # the failed one was never heard
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM probe")).scalar() == 1


async def test_issue_is_heard_after_its_commit(buses, pg_url) -> None:
    """The reference issue: ticket, event and notification in one transaction; past the quota
    nothing is kept, not even the Idempotency-Key, and nobody is told."""
    from sqlalchemy.orm import sessionmaker

    from app.db.migrate import upgrade
    from app.db.models import IdempotencyKey, Service
    from app.domain.errors import DomainError
    from app.services import auth, tickets
    from app.services.unit_of_work import unit_of_work
    from tests.support.world import build_world

    upgrade(pg_url)
    engine = sa.create_engine(pg_url)
    factory = sessionmaker(engine, expire_on_commit=False)
    now = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
    with factory() as s:
        world = build_world(s, now=now)
        s.execute(sa.update(Service).where(Service.id == world.kk.id).values(daily_quota=1))
        s.commit()
    subs = [b.subscribe(16) for b in buses]

    def issue(key: str):
        try:
            with unit_of_work(factory, buses[0], now=now) as ctx:
                ctx.actor = auth.principal_for_device(ctx.session, world.kiosk_token)
                issued = tickets.issue_ticket(ctx, service_id=world.kk.id, idempotency_key=key)
        except DomainError as exc:
            return exc.code, None
        return (issued.view.id, issued.view.number), ctx

    (ticket_id, number), ctx = await asyncio.to_thread(issue, "k-1")
    assert number == "K-001"
    for sub in subs:
        got = await asyncio.wait_for(sub.get(), 5)
        assert got.type == ev.TICKET_ISSUED
        assert got.data == ctx.outbox[0].data and got.data["ticket_id"] == ticket_id
    code, _ = await asyncio.to_thread(issue, "k-2")
    assert code == "quota_exhausted"
    with engine.connect() as conn:
        keys = conn.execute(sa.select(IdempotencyKey.key).order_by(IdempotencyKey.key)).scalars()
        assert list(keys) == ["k-1"]
    await asyncio.sleep(0.3)
    assert all(sub.queue.empty() for sub in subs)
    engine.dispose()
