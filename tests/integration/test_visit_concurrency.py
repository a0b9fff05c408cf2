"""Visits with several services under concurrency, against real uvicorn processes.

SQLite runs one worker on a WAL file; PostgreSQL two worker processes. Two agencies' counters
call, serve and finish at once while visit tickets move from the first agency's queue into the
second's; officers add steps while the same tickets finish. Checked over HTTP and in the rows.
"""

from __future__ import annotations

import re
import threading
from collections import Counter as Tally
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from app.db.models import Device, TicketEvent, VisitStep
from app.db.session import make_engine, make_session_factory, unit_of_work
from app.services import auth, config
from app.services.context import Ctx
from app.services.mallfile import SYSTEM
from tests.integration.loadmall import scalar_rows
from tests.support.databases import create_database, drop_database
from tests.support.live import LiveServer, free_port, prepare_database, server_env

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("concurrency")]

PASSWORD = "petugas-rahasia-123"
PER_AGENCY = 4  # counters (and officers) per agency
VISITS = 120
SINGLES = 40
TIMEOUT = httpx.Timeout(60.0)


@dataclass
class Mall:
    services: dict[str, int]  # "A", "A2", "B" -> id
    counters: dict[str, list[int]]  # agency letter -> counter ids
    officers: dict[str, list[str]]  # agency letter -> usernames (officers[i] runs counters[i])
    kiosk: str


def _build(url: str) -> Mall:
    engine = make_engine(url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            ctx = Ctx(session=session, now=datetime.now(UTC), actor=SYSTEM)
            site = config.create_site(ctx, {"code": "kunjungan", "name": "MPP Kunjungan",
                                            "timezone": "Asia/Jakarta"})
            services: dict[str, int] = {}
            counters: dict[str, list[int]] = {}
            officers: dict[str, list[str]] = {}
            for letter, prefixes in (("A", ("A", "C")), ("B", ("B",))):
                agency = config.create_agency(ctx, {"site_id": site.id, "code": f"AG{letter}",
                                                    "name": f"Instansi {letter}"})
                ids = []
                for i, p in enumerate(prefixes):
                    key = letter if i == 0 else f"{letter}2"
                    s = config.create_service(ctx, {"agency_id": agency.id, "code": f"S{p}",
                                                    "name": f"Layanan {p}", "prefix": p})
                    services[key] = s.id
                    ids.append(s.id)
                counters[letter], officers[letter] = [], []
                for n in range(1, PER_AGENCY + 1):
                    c = config.create_counter(ctx, {"agency_id": agency.id, "number": n,
                                                    "name": f"Loket {letter}{n}",
                                                    "service_ids": ids})
                    user = f"petugas-{letter.lower()}{n}"
                    config.create_user(ctx, {"username": user, "password": PASSWORD,
                                             "role": "officer", "agency_id": agency.id})
                    counters[letter].append(c.id)
                    officers[letter].append(user)
            token, token_hash = auth.new_device_token()
            session.add(Device(site_id=site.id, kind="kiosk", name="Kiosk", token_hash=token_hash))
            return Mall(services, counters, officers, token)
    finally:
        engine.dispose()


@dataclass
class Env:
    server: LiveServer
    url: str
    mall: Mall


@pytest.fixture
def env(backend: str, tmp_path: Path) -> Iterator[Env]:
    url = create_database(backend, tmp_path)
    prepare_database(url)
    mall = _build(url)
    workers = 2 if backend == "postgresql" else 1
    # A loaded 2-core box may take half a minute to start two workers: wait longer than usual.
    port = free_port()
    server = LiveServer(url=f"http://127.0.0.1:{port}", database_url=url, port=port,
                        env=server_env(url), workers=workers,
                        log_path=tmp_path / "server.log").start(timeout=120)
    try:
        yield Env(server, url, mall)
    finally:
        server.stop()
        log = (tmp_path / "server.log").read_text(errors="replace")
        drop_database(url)
        for marker in ("unhandled error", "database error", "database unavailable"):
            assert marker not in log, log[-4000:]
        assert not re.search(r"mpp\.access .* 5\d\d$", log, re.M), log[-4000:]


def _client(env: Env, token: str) -> httpx.Client:
    return httpx.Client(base_url=env.server.url, timeout=TIMEOUT,
                        headers={"Authorization": f"Bearer {token}"})


def _issue(env: Env, body: dict, n: int) -> list[dict]:
    with _client(env, env.mall.kiosk) as kiosk:
        out = []
        for _ in range(n):
            r = kiosk.post("/api/v1/tickets", json=body)
            assert r.status_code == 201, r.text
            out.append(r.json())
        return out


def test_two_agencies_counters_never_hold_the_same_visit_ticket(env: Env) -> None:
    """4 counters of A and 4 of B call and serve together while A's finished visits join B's
    queue at its head (their issue time): every step is served once, by one counter at a
    time, and every visit ends done at B."""
    s = env.mall.services
    visits = _issue(env, {"service_id": s["A"], "next_service_ids": [s["B"]]}, VISITS)
    singles = _issue(env, {"service_id": s["B"]}, SINGLES)
    counters = [(c, u) for letter in ("A", "B")
                for c, u in zip(env.mall.counters[letter], env.mall.officers[letter],
                                strict=True)]
    tokens = [env.server.token(u, PASSWORD) for _, u in counters]
    start = threading.Barrier(len(counters))
    remaining = {"B": VISITS + SINGLES}
    lock = threading.Lock()

    def counter(i: int) -> list[tuple[int, int]]:
        cid = counters[i][0]
        agency_b = cid in env.mall.counters["B"]
        served: list[tuple[int, int]] = []
        with _client(env, tokens[i]) as client:
            assert client.post(f"/api/v1/counters/{cid}/open").status_code == 200
            start.wait()
            idle = 0
            while True:
                r = client.post(f"/api/v1/counters/{cid}/call-next")
                if r.status_code == 204:
                    with lock:
                        left = remaining["B"]
                    # A's counters stop when A is empty; B's wait for the visits still at A.
                    if not agency_b or left <= 0 or idle > 400:
                        return served
                    idle += 1
                    threading.Event().wait(0.02)
                    continue
                assert r.status_code == 200, r.text
                t = r.json()
                assert t["status"] == "called" and t["counter_id"] == cid
                r = client.post(f"/api/v1/tickets/{t['id']}/start")
                assert r.status_code == 200, r.text
                r = client.post(f"/api/v1/tickets/{t['id']}/finish")
                assert r.status_code == 200, r.text
                after = r.json()
                served.append((t["id"], t["service_id"]))
                if agency_b:
                    assert after["status"] == "done"
                    with lock:
                        remaining["B"] -= 1
                else:
                    # finish answers the ticket after the move: waiting at B, same number.
                    assert after["status"] == "waiting" and after["service_id"] == s["B"]
                    assert after["number"] == t["number"]

    with ThreadPoolExecutor(len(counters)) as pool:
        per_counter = list(pool.map(counter, range(len(counters))))

    served = Tally(x for part in per_counter for x in part)
    visit_ids = {v["id"] for v in visits}
    expected = Tally({(i, s["A"]): 1 for i in visit_ids}) + Tally(
        {(i, s["B"]): 1 for i in visit_ids | {t["id"] for t in singles}})
    assert served == expected, "a step was served twice or not at all"
    assert sum(1 for part in per_counter[PER_AGENCY:] if part) > 1  # B's work was shared

    # Each ticket's events, in order: one counter at a time held it (call, start, finish).
    e = TicketEvent.__table__.c
    rows = scalar_rows(env.url, sa.select(e.ticket_id, e.type, e.counter_id)
                       .where(e.ticket_id.in_(visit_ids)).order_by(e.ticket_id, e.id))
    by_ticket: dict[int, list[tuple[str, int | None]]] = {}
    for tid, typ, cid in rows:
        by_ticket.setdefault(tid, []).append((typ, cid))
    for tid, events in by_ticket.items():
        types = [t for t, _ in events]
        assert types == ["issued", "called", "started", "finished", "step_queued", "called",
                         "started", "finished"], (tid, types)
        a_counter = {c for t, c in events[1:4]}
        b_counter = {c for t, c in events[5:8]}
        assert len(a_counter) == 1 and a_counter <= set(env.mall.counters["A"])
        assert len(b_counter) == 1 and b_counter <= set(env.mall.counters["B"])
    v = VisitStep.__table__.c
    statuses = Tally(r[0] for r in scalar_rows(env.url, sa.select(v.status)))
    assert statuses == {"done": 2 * VISITS}


def test_step_finishing_while_officer_adds_a_step_loses_neither(env: Env) -> None:
    """The officer at A finishes each visit's step at A and, from a second connection at the
    same moment, adds a step (A's second service): whatever order the database picks, the
    finish moves the ticket on and the added step is in the plan."""
    s = env.mall.services
    rounds = 30
    visits = _issue(env, {"service_id": s["A"], "next_service_ids": [s["B"]]}, rounds)
    cid = env.mall.counters["A"][0]
    serving = env.server.token(env.mall.officers["A"][0], PASSWORD)
    adding = env.server.token(env.mall.officers["A"][0], PASSWORD)  # a second sign-in
    outcomes = Tally()
    with _client(env, serving) as officer, _client(env, adding) as other:
        assert officer.post(f"/api/v1/counters/{cid}/open").status_code == 200
        for v in visits:
            r = officer.post(f"/api/v1/counters/{cid}/call-next")
            assert r.status_code == 200 and r.json()["id"] == v["id"], r.text
            assert officer.post(f"/api/v1/tickets/{v['id']}/start").status_code == 200
            barrier = threading.Barrier(2)

            def finish(v: dict = v, barrier: threading.Barrier = barrier) -> httpx.Response:
                barrier.wait()
                return officer.post(f"/api/v1/tickets/{v['id']}/finish")

            def add(v: dict = v, barrier: threading.Barrier = barrier) -> httpx.Response:
                barrier.wait()
                return other.post(f"/api/v1/tickets/{v['id']}/steps",
                                  json={"service_id": s["A2"]})

            with ThreadPoolExecutor(2) as pool:
                f, a = pool.submit(finish), pool.submit(add)
                rf, ra = f.result(), a.result()
            assert rf.status_code == 200, rf.text
            assert ra.status_code == 201, ra.text
            assert rf.json()["status"] == "waiting" and rf.json()["service_id"] == s["B"]
            plan = [(x["service_id"], x["status"]) for x in ra.json()["steps"]]
            # The add saw the plan before or after the finish; both keep every step.
            outcomes["add first" if plan[0][1] != "done" else "finish first"] += 1
    v_ = VisitStep.__table__.c
    rows = scalar_rows(env.url, sa.select(v_.ticket_id, v_.service_id, v_.status)
                       .order_by(v_.ticket_id, v_.position))
    plans: dict[int, list[tuple[int, str]]] = {}
    for tid, sid, status in rows:
        plans.setdefault(tid, []).append((sid, status))
    for v in visits:
        assert plans[v["id"]] == [(s["A"], "done"), (s["B"], "current"),
                                  (s["A2"], "pending")], plans[v["id"]]
    assert sum(outcomes.values()) == rounds
