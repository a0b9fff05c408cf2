"""Two uvicorn processes on one PostgreSQL: events travel between them via LISTEN/NOTIFY."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy.orm import Session, sessionmaker

from app.bus.postgres import PostgresBus
from app.db.models import Counter, Ticket
from app.db.session import make_engine
from app.services import tickets
from app.services.context import Ctx
from app.services.mallfile import SYSTEM
from tests.support.databases import PG_URL, create_database, drop_database
from tests.support.live import prepare_database, start_server
from tests.support.world import PASSWORD, build_world

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not PG_URL, reason="MPP_TEST_DATABASE_URL is not set")]


async def next_msg(ws: Any, *types: str, timeout: float = 10.0) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), max(0.01, end - loop.time())))
        if msg["type"] in types:
            return msg


@pytest.fixture
def two_servers(tmp_path: Path):
    url = create_database("postgresql", tmp_path)
    prepare_database(url)
    engine = make_engine(url)
    factory = sessionmaker(engine, expire_on_commit=False)
    with factory() as s:
        world = build_world(s, now=datetime.now(UTC))
        s.commit()
    a = start_server(url, log_path=tmp_path / "a.log")
    try:
        b = start_server(url, log_path=tmp_path / "b.log")
    except Exception:
        a.stop()
        raise
    try:
        yield a, b, world, factory, url
    finally:
        a.stop()
        b.stop()
        engine.dispose()
        drop_database(url)


def rolled_back_call(factory: sessionmaker[Session], url: str, counter_id: int) -> str:
    """Run the real call-next and send its NOTIFY inside the transaction, then roll back."""
    bus = PostgresBus(url)
    with factory() as session:
        ctx = Ctx(session=session, now=datetime.now(UTC), actor=SYSTEM)
        counter = session.get(Counter, counter_id)
        counter.is_open = True  # rolled back too
        ticket = tickets.call_next(ctx, counter)
        assert ticket is not None and ctx.outbox
        bus.emit_in_transaction(session.connection(), ctx.outbox)
        number = ticket.number
        session.rollback()
    return number


async def test_call_through_a_reaches_board_on_b_and_rollback_reaches_nobody(two_servers):
    a, b, w, factory, url = two_servers
    async with httpx.AsyncClient(timeout=30) as http:
        r = await http.post(f"{a.url}/api/v1/auth/token",
                            data={"username": w.officer_d.username, "password": PASSWORD})
        officer = {"Authorization": f"Bearer {r.json()['access_token']}"}
        kiosk = {"Authorization": f"Bearer {w.kiosk_token}"}
        assert (await http.post(f"{a.url}/api/v1/counters/{w.c1.id}/open",
                                headers=officer)).status_code == 200
        for _ in range(2):
            assert (await http.post(f"{b.url}/api/v1/tickets", json={"service_id": w.ktp.id},
                                    headers=kiosk)).status_code == 201
        on_a = await websockets.connect(f"{a.url.replace('http', 'ws')}/ws/display?site_id={w.site.id}")
        on_b = await websockets.connect(f"{b.url.replace('http', 'ws')}/ws/display?site_id={w.site.id}")
        try:
            for ws in (on_a, on_b):
                snap = await next_msg(ws, "snapshot")
                assert {x["prefix"]: x["waiting"] for x in snap["waiting"]}["A"] == 2

            # A call that rolls back: its NOTIFY was sent inside the transaction, never heard.
            ghost = await asyncio.to_thread(rolled_back_call, factory, url, w.c2.id)
            assert ghost == "A-001"  # at counter 2; the real call below is at counter 1
            r = await http.post(f"{a.url}/api/v1/counters/{w.c1.id}/call-next", headers=officer)
            assert r.status_code == 200 and r.json()["number"] == "A-001"
            for ws in (on_b, on_a):
                ev = await next_msg(ws, "ticket.called", "ticket.status")
                # The first event either board hears is the real call, exactly once.
                assert ev["type"] == "ticket.called" and ev["number"] == "A-001"
                assert ev["counter"] == "1" and ev["counter_id"] == w.c1.id
                assert ev["announcement"] == "Nomor antrean, A, satu, silakan menuju loket satu."
                assert ev["waiting_counts"] == {str(w.ktp.id): 1}
            with factory() as s:
                t = s.get(Ticket, r.json()["id"])
                assert t.status == "called" and t.call_count == 1

            # And the other way round: a call through B reaches the board on A.
            r = await http.post(f"{b.url}/api/v1/tickets/{r.json()['id']}/recall",
                                headers=officer)
            assert r.status_code == 200
            ev = await next_msg(on_a, "ticket.called")
            assert ev["recall"] is True and ev["number"] == "A-001"
        finally:
            await on_a.close()
            await on_b.close()
