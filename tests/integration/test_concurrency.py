"""Many clients at once against real uvicorn processes: numbering, call-next, idempotency.

SQLite runs one worker on a WAL file; PostgreSQL runs two worker processes. The numbers are the
issue's full ones (50 kiosks x 2,000 tickets, 20 counters x 1,000 tickets); the answers are
checked both over HTTP and in the database rows afterwards.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections import Counter as Tally
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from app.db.models import IdempotencyKey, ServiceDay, Ticket, TicketEvent
from tests.integration.loadmall import (
    OFFICER_PASSWORD,
    LoadMall,
    build_load_mall,
    scalar_rows,
    seed_waiting,
)
from tests.support.databases import create_database, drop_database
from tests.support.live import LiveServer, prepare_database, start_server

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("concurrency")]

KIOSKS = 50
TICKETS = 2000
COUNTERS = 20
WAITING = 1000
TIMEOUT = httpx.Timeout(60.0)


@dataclass
class Env:
    server: LiveServer
    url: str
    mall: LoadMall


@pytest.fixture
def env(backend: str, tmp_path: Path) -> Iterator[Env]:
    url = create_database(backend, tmp_path)
    prepare_database(url)
    mall = build_load_mall(url, counters=COUNTERS, kiosks=KIOSKS)
    workers = 2 if backend == "postgresql" else 1
    server = start_server(url, workers=workers, log_path=tmp_path / "server.log")
    try:
        yield Env(server, url, mall)
    finally:
        server.stop()
        log = (tmp_path / "server.log").read_text(errors="replace")
        drop_database(url)
        # A 500 answered to a client would already fail the test; this catches swallowed ones.
        # (Background jobs' own retries, e.g. booking housekeeping, are not requests.)
        for marker in ("unhandled error", "database error", "database unavailable"):
            assert marker not in log, log[-4000:]
        assert not re.search(r"mpp\.access .* 5\d\d$", log, re.M), log[-4000:]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_concurrent_kiosks_number_gaplessly(env: Env) -> None:
    """50 kiosks issue 2,000 tickets over 4 services: every number once, no gaps."""
    per_kiosk = TICKETS // KIOSKS
    services = env.mall.service_ids
    start = threading.Barrier(KIOSKS)

    def kiosk(k: int) -> list[tuple[int, int, str]]:
        out = []
        headers = _bearer(env.mall.kiosk_tokens[k])
        with httpx.Client(base_url=env.server.url, timeout=TIMEOUT, headers=headers) as client:
            start.wait()
            for i in range(per_kiosk):
                service_id = services[(k + i) % len(services)]
                r = client.post("/api/v1/tickets", json={"service_id": service_id},
                                headers={"Idempotency-Key": f"k{k}-{i}"})
                assert r.status_code == 201, r.text
                body = r.json()
                out.append((body["id"], body["service_id"], body["number"]))
        return out

    with ThreadPoolExecutor(KIOSKS) as pool:
        answers = [t for part in pool.map(kiosk, range(KIOSKS)) for t in part]

    assert len(answers) == TICKETS
    assert len({a[0] for a in answers}) == TICKETS
    per_service = Tally(a[1] for a in answers)
    assert set(per_service.values()) == {TICKETS // len(services)}

    t = Ticket.__table__.c
    rows = scalar_rows(env.url, sa.select(t.id, t.service_id, t.day, t.seq, t.number))
    assert len(rows) == TICKETS
    assert {(r[0], r[1], r[4]) for r in rows} == set(answers)
    by_service: dict[tuple[int, object], list[int]] = {}
    for _id, service_id, day, seq, _number in rows:
        by_service.setdefault((service_id, day), []).append(seq)
    for (service_id, _day), seqs in by_service.items():
        n = per_service[service_id]
        assert sorted(seqs) == list(range(1, n + 1)), f"gap or duplicate in service {service_id}"
    days = scalar_rows(env.url, sa.select(ServiceDay.service_id, ServiceDay.last_seq))
    assert sorted(days) == sorted((s, per_service[s]) for s in services)
    e = TicketEvent.__table__.c
    issued = scalar_rows(env.url, sa.select(sa.func.count()).where(e.type == "issued"))
    assert issued == [(TICKETS,)]


def test_concurrent_counters_call_each_ticket_once(env: Env) -> None:
    """20 counters call next over 1,000 waiting tickets: each is called exactly once."""
    ids = seed_waiting(env.url, env.mall.service_ids, WAITING)
    tokens = [env.server.token(u, OFFICER_PASSWORD) for u in env.mall.officers]
    start = threading.Barrier(COUNTERS)

    def counter(i: int) -> list[int]:
        cid = env.mall.counter_ids[i]
        called: list[int] = []
        with httpx.Client(base_url=env.server.url, timeout=TIMEOUT,
                          headers=_bearer(tokens[i])) as client:
            assert client.post(f"/api/v1/counters/{cid}/open").status_code == 200
            start.wait()
            while True:
                r = client.post(f"/api/v1/counters/{cid}/call-next")
                if r.status_code == 204:
                    return called
                assert r.status_code == 200, r.text
                ticket = r.json()
                assert ticket["status"] == "called" and ticket["counter_id"] == cid
                called.append(ticket["id"])
                # Serving it lets the next call-next finish it on the way.
                r = client.post(f"/api/v1/tickets/{ticket['id']}/start")
                assert r.status_code == 200, r.text

    with ThreadPoolExecutor(COUNTERS) as pool:
        per_counter = list(pool.map(counter, range(COUNTERS)))

    called = [t for part in per_counter for t in part]
    assert len(called) == WAITING, "a ticket was skipped or called twice"
    assert set(called) == set(ids)
    # Work was really shared: more than one counter got tickets.
    assert sum(1 for part in per_counter if part) > 1

    e = TicketEvent.__table__.c
    calls = scalar_rows(env.url, sa.select(e.ticket_id, sa.func.count())
                        .where(e.type == "called").group_by(e.ticket_id))
    assert len(calls) == WAITING and {n for _, n in calls} == {1}
    t = Ticket.__table__.c
    statuses = dict(scalar_rows(env.url, sa.select(t.status, sa.func.count()).group_by(t.status)))
    assert "waiting" not in statuses
    # Each call-next finished the ticket being served, the last (answering 204) included.
    assert statuses == {"done": WAITING}


def test_racing_idempotency_key_gives_one_ticket(env: Env) -> None:
    """Several requests with the same key at the same moment: one ticket, the same answer."""
    racers, rounds = 12, 8
    token = env.mall.kiosk_tokens[0]
    service_id = env.mall.service_ids[0]
    clients = [httpx.Client(base_url=env.server.url, timeout=TIMEOUT, headers=_bearer(token))
               for _ in range(racers)]
    try:
        for c in clients:  # warm the connections so the race is on the request, not connect
            assert c.get("/readyz").status_code == 200
        for rnd in range(rounds):
            key = f"race-{rnd}-{uuid.uuid4().hex[:8]}"
            barrier = threading.Barrier(racers)

            def go(c: httpx.Client, key: str = key, barrier: threading.Barrier = barrier
                   ) -> httpx.Response:
                barrier.wait()
                return c.post("/api/v1/tickets", json={"service_id": service_id},
                              headers={"Idempotency-Key": key})

            with ThreadPoolExecutor(racers) as pool:
                answers = list(pool.map(go, clients))
            codes = sorted(r.status_code for r in answers)
            assert codes == [200] * (racers - 1) + [201], [r.text for r in answers]
            bodies = {(r.json()["id"], r.json()["number"], r.json()["tracking_code"])
                      for r in answers}
            assert len(bodies) == 1
    finally:
        for c in clients:
            c.close()

    t = Ticket.__table__.c
    assert scalar_rows(env.url, sa.select(sa.func.count()).select_from(Ticket.__table__)
                       .where(t.service_id == service_id)) == [(rounds,)]
    k = IdempotencyKey.__table__.c
    keys = scalar_rows(env.url, sa.select(k.key, k.ticket_id).where(k.key.like("race-%")))
    assert len(keys) == rounds and all(tid is not None for _, tid in keys)
    # Numbers stay gapless even though most requests were retries.
    seqs = scalar_rows(env.url, sa.select(t.seq).where(t.service_id == service_id))
    assert sorted(s for (s,) in seqs) == list(range(1, rounds + 1))
