"""Monday peak: a busy day of a 3,000-visitor MPP, compressed in time, against 2 workers.

    python bench/monday_peak.py                       # 3,000 visitors, the day in 4 minutes
    python bench/monday_peak.py --visitors 1000 --minutes 2
    python bench/monday_peak.py --visit-share 0   # every visitor on one service only

What it does:
- creates a fresh PostgreSQL database (base URL from --database-url, MPP_BENCH_DATABASE_URL or
  MPP_TEST_DATABASE_URL) and loads a generated mall: the twelve agencies of DOMAIN.md's demo MPP,
  their services (no quotas, open all day), 40 counters with one officer each, kiosks;
- starts `uvicorn app.asgi:app --workers 2` on it (JSON logs, multi-process Prometheus metrics);
- replays the day 07.30-16.30 compressed into --minutes: arrivals follow the hour profile of
  DOMAIN.md (40 % before 10.00, 20 % in the busiest hour 08-09); kiosks issue with an
  Idempotency-Key and retry on network errors and 503; kiosks refresh the catalog; some citizens
  track their ticket; 40 officers call, start, finish (a few no-shows, recalls and transfers) at
  each service's typical pace, scaled; 20 display boards follow over websockets; --visit-share
  of the visitors (30 % by default) take one ticket for a visit of two or three services of
  different agencies (next_service_ids), which moves from queue to queue as each step finishes;
- then closes the day (the admin close-day endpoint) and checks that every ticket is accounted
  for: issued = done + no_show + transferred + closed out (+ cancelled), that every step of every
  visit ended (done, no-show, cancelled or closed out: none pending or current), that every
  ticket a kiosk got an answer for exists, that numbers have no duplicates or gaps, and that
  every board's view equals a fresh snapshot;
- prints throughput, p50/p99 per endpoint, errors and the end-of-day check.

The same harness drives the fault test (tests/faults/test_faults.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter as Tally
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PASSWORD = "bench-rahasia-123"
SECRET = "bench-secret-key-0123456789-abcdefghijklmnop"

# The day 07.30-16.30 by the hour, in percent of the day's tickets (DOMAIN.md: about 40 %
# before 10.00, the busiest hour about 20 %). (start hour, end hour, percent)
HOUR_PROFILE = [
    (7.5, 8.0, 5), (8.0, 9.0, 20), (9.0, 10.0, 15), (10.0, 11.0, 13), (11.0, 12.0, 11),
    (12.0, 13.0, 7), (13.0, 14.0, 11), (14.0, 15.0, 10), (15.0, 16.0, 6), (16.0, 16.5, 2),
]
DAY_START, DAY_END = 7.5, 16.5

# (prefix, agency code, agency name, floor/zone, share of visitors %, counters,
#  [(service name, typical minutes)]) after DOMAIN.md's demo MPP.
AGENCIES = [
    ("A", "DUKCAPIL", "Disdukcapil", "A", 30, 10, [
        ("Perekaman KTP-el", 8), ("Cetak ulang KTP-el", 7), ("Kartu Keluarga", 10),
        ("Akta Kelahiran", 10), ("Pindah/Datang", 10), ("KIA", 5)]),
    ("B", "IMIGRASI", "Kantor Imigrasi", "A", 10, 5, [
        ("Paspor baru", 12), ("Penggantian paspor", 10), ("Paspor hilang/rusak", 20)]),
    ("C", "POLRES", "Polres", "B", 12, 5, [
        ("Perpanjangan SIM A", 15), ("Perpanjangan SIM C", 15), ("SKCK", 10)]),
    ("D", "SAMSAT", "Samsat", "B", 12, 5, [
        ("Pajak tahunan", 7), ("STNK 5 tahunan", 15), ("Balik nama", 20)]),
    ("E", "BPJSKES", "BPJS Kesehatan", "C", 8, 3, [
        ("Pendaftaran peserta", 10), ("Perubahan data/faskes", 7), ("Informasi & pengaduan", 10)]),
    ("F", "BPJSTK", "BPJS Ketenagakerjaan", "C", 6, 3, [
        ("Klaim JHT", 20), ("Pendaftaran BPU", 10), ("Perubahan data", 7)]),
    ("G", "DJP", "KPP Pratama", "C", 5, 2, [
        ("NPWP", 10), ("Aktivasi EFIN", 5), ("Konsultasi SPT", 15)]),
    ("H", "BPN", "Kantor Pertanahan", "D", 5, 2, [
        ("Pengecekan sertipikat", 10), ("Peralihan hak", 20), ("Informasi", 15)]),
    ("J", "DPMPTSP", "DPMPTSP", "D", 4, 2, [
        ("Konsultasi NIB/OSS", 20), ("PBG", 20), ("SIP tenaga kesehatan", 15)]),
    ("K", "KEMENAG", "Kemenag / KUA", "D", 3, 1, [
        ("Pendaftaran nikah", 15), ("Informasi haji", 20)]),
    ("L", "BANKDA", "Bank daerah", "D", 3, 1, [
        ("Pembayaran pajak/retribusi", 5), ("Buka rekening", 15)]),
    ("M", "PLN", "PLN", "D", 2, 1, [
        ("Pasang baru", 15), ("Tambah daya", 15), ("Informasi tagihan", 10)]),
]
TERMINAL = ("done", "no_show", "transferred", "closed_out", "cancelled")


# --- database and mall ----------------------------------------------------------------------


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def create_database(base_url: str, prefix: str = "mpp_bench") -> str:
    """A new, empty PostgreSQL database next to base_url's; returns its SQLAlchemy URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_libpq(base_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{base_url.rpartition('/')[0]}/{name}"
    if url.startswith("postgresql://"):
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    return url


def drop_database(url: str) -> None:
    base, _, name = url.rpartition("/")
    with psycopg.connect(_libpq(f"{base}/postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class ServiceInfo:
    id: int
    agency_id: int
    prefix: str
    typical_minutes: int
    weight: float


@dataclass
class CounterInfo:
    id: int
    agency_id: int
    service_ids: list[int]
    officer: str


@dataclass
class Mall:
    site_id: int
    services: list[ServiceInfo]
    counters: list[CounterInfo]
    kiosk_tokens: list[str]
    agency_ids: list[int]
    zones: list[str]


def build_mall(url: str, *, counters: int = 40, kiosks: int = 8) -> Mall:
    """Migrate and load the generated mall through the real services (one transaction)."""
    from app.db.migrate import upgrade
    from app.db.models import Device, User
    from app.db.session import make_engine, make_session_factory, unit_of_work
    from app.services import auth, config, passwords
    from app.services.context import Ctx
    from app.services.mallfile import SYSTEM

    upgrade(url)
    engine = make_engine(url)
    pw_hash = passwords.hash_password(PASSWORD)  # one hash for every officer: setup stays fast
    total_counters = sum(a[5] for a in AGENCIES)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            ctx = Ctx(session=session, now=datetime.now(UTC), actor=SYSTEM)
            site = config.create_site(ctx, {"code": "mpp-senin", "name": "MPP Kota Senin",
                                            "timezone": "Asia/Jakarta", "address": None,
                                            "max_consecutive_priority": 3})
            session.add(User(username="admin", password_hash=pw_hash, role="admin"))
            services: list[ServiceInfo] = []
            counter_infos: list[CounterInfo] = []
            agency_ids = []
            number = 0
            for prefix, code, name, zone, share, n_counters, svc in AGENCIES:
                agency = config.create_agency(ctx, {"site_id": site.id, "code": code,
                                                    "name": name, "floor": zone, "zone": zone,
                                                    "color": None})
                agency_ids.append(agency.id)
                ids = []
                for k, (sname, minutes) in enumerate(svc):
                    s = config.create_service(ctx, {
                        "agency_id": agency.id, "code": f"{code}-{k + 1}", "name": sname,
                        "prefix": prefix + "ABCDEFGH"[k], "typical_minutes": minutes,
                        "daily_quota": None, "opening_hours": None})
                    ids.append(s.id)
                    services.append(ServiceInfo(s.id, agency.id, s.prefix, minutes,
                                                share / len(svc)))
                n = max(1, round(n_counters * counters / total_counters))
                for _ in range(n):
                    number += 1
                    c = config.create_counter(ctx, {"agency_id": agency.id,
                                                    "name": f"Loket {number}", "number": number,
                                                    "zone": zone, "service_ids": ids})
                    officer = f"petugas{number:02d}"
                    session.add(User(username=officer, password_hash=pw_hash, role="officer",
                                     agency_id=agency.id, full_name=f"Petugas {number}"))
                    counter_infos.append(CounterInfo(c.id, agency.id, ids, officer))
            tokens = []
            for k in range(kiosks):
                token, token_hash = auth.new_device_token()
                session.add(Device(site_id=site.id, kind="kiosk", name=f"Kiosk {k + 1}",
                                   token_hash=token_hash))
                tokens.append(token)
            site_id = site.id
        return Mall(site_id, services, counter_infos, tokens, agency_ids,
                    sorted({a[3] for a in AGENCIES}))
    finally:
        engine.dispose()


# --- the server -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    database_url: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    metrics_dir: str

    def worker_pids(self) -> list[int]:
        """The uvicorn worker processes (children of the master that run the app)."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            except (OSError, IndexError, ValueError):
                continue
            if ppid == self.proc.pid and b"resource_tracker" not in cmdline:
                pids.append(int(entry.name))
        return sorted(pids)

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        import shutil

        shutil.rmtree(self.metrics_dir, ignore_errors=True)


def start_server(database_url: str, *, workers: int = 2, log_path: Path,
                 extra_env: dict[str, str] | None = None, timeout: float = 60.0) -> Server:
    port = free_port()
    metrics_dir = tempfile.mkdtemp(prefix="mpp-bench-metrics-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MPP_")}
    env.update({
        "MPP_DATABASE_URL": database_url, "MPP_ENV": "production", "MPP_SECRET_KEY": SECRET,
        "MPP_ALLOWED_HOSTS": '["localhost"]', "MPP_LOG_LEVEL": "WARNING", "MPP_PUBLIC_RATE_PER_MINUTE": "1000000",
        "PROMETHEUS_MULTIPROC_DIR": metrics_dir, "PYTHONPATH": str(ROOT),
    })
    env.update(extra_env or {})
    log = open(log_path, "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.asgi:app", "--host", "127.0.0.1", "--port",
         str(port), "--workers", str(workers), "--log-level", "warning", "--no-access-log"],
        cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}", database_url, proc, log_path, metrics_dir)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}; see {log_path}")
        try:
            if httpx.get(f"{server.url}/readyz", timeout=2).status_code == 200 and \
                    len(server.worker_pids()) >= workers:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"server did not become ready; see {log_path}")


# --- recording ------------------------------------------------------------------------------

_ID = re.compile(r"/\d+(?=/|$)")


def route_of(method: str, path: str) -> str:
    path = _ID.sub("/{id}", path)
    if path.startswith("/api/v1/track/"):
        path = "/api/v1/track/{code}"
    return f"{method} {path}"


@dataclass
class Outcome:
    at: float  # time.time() when the answer (or the failure) came
    route: str
    status: int  # 0 = no answer (connection refused, reset, timeout)
    seconds: float
    code: str | None = None


@dataclass
class Recorder:
    outcomes: list[Outcome] = field(default_factory=list)
    acks: dict[str, dict[str, Any]] = field(default_factory=dict)  # idempotency key -> ticket
    transfers: list[dict[str, Any]] = field(default_factory=list)
    calls: int = 0

    async def request(self, client: httpx.AsyncClient, method: str, path: str,
                      **kwargs: Any) -> httpx.Response | None:
        route = route_of(method, path)
        start = time.perf_counter()
        try:
            r = await client.request(method, path, **kwargs)
        except (httpx.TransportError, httpx.TimeoutException) as exc:
            self.outcomes.append(Outcome(time.time(), route, 0, time.perf_counter() - start,
                                         type(exc).__name__))
            return None
        code = None
        if r.status_code >= 400:
            with contextlib.suppress(Exception):
                code = r.json()["error"]["code"]
        self.outcomes.append(Outcome(time.time(), route, r.status_code,
                                     time.perf_counter() - start, code))
        return r


# --- the actors -----------------------------------------------------------------------------


@dataclass
class Plan:
    visitors: int = 3000
    day_seconds: float = 240.0
    seed: int = 20261130
    priority_share: float = 0.08
    no_show_share: float = 0.04
    transfer_share: float = 0.03
    recall_share: float = 0.05
    track_share: float = 0.3
    visit_share: float = 0.0  # visitors on a visit of 2-3 services (main() asks for 30 %)
    service_factor: tuple[float, float] = (0.4, 1.0)

    @property
    def scale(self) -> float:
        """Real seconds per simulated second."""
        return self.day_seconds / ((DAY_END - DAY_START) * 3600)

    def arrivals(self) -> list[float]:
        """Offsets (real seconds from the start) of every visitor's arrival at a kiosk."""
        rng = random.Random(self.seed)
        counts = [round(self.visitors * p / 100) for *_, p in HOUR_PROFILE]
        counts[1] += self.visitors - sum(counts)
        out = []
        for (h0, h1, _), n in zip(HOUR_PROFILE, counts, strict=True):
            for _ in range(n):
                out.append((rng.uniform(h0, h1) - DAY_START) * 3600 * self.scale)
        return sorted(out)


class Board:
    """A display board over a websocket: a view built from a snapshot plus events."""

    def __init__(self, base_ws: str, query: str, name: str) -> None:
        self.url = f"{base_ws}/ws/display?{query}"
        self.name = name
        self.counters: dict[int, tuple[str | None, str | None, bool]] = {}
        self.snapshots: list[float] = []
        self.disconnects: list[float] = []
        self.called_events = 0
        self.lags: list[float] = []
        self.connected = False
        self.refused: list[str] = []
        self.failures: list[tuple[float, int]] = []  # (when, HTTP status of a refused handshake)
        self.closes: Tally[str] = Tally()  # why the connection ended
        self._stop = False
        self._ws: Any = None

    def apply_snapshot(self, snap: dict[str, Any]) -> None:
        self.counters = {c["id"]: (c["ticket"], c["status"], c["is_open"])
                         for c in snap["counters"]}

    def apply(self, msg: dict[str, Any]) -> None:
        t = msg.get("type")
        cid = msg.get("counter_id")
        if t == "ticket.called":
            self.called_events += 1
            with contextlib.suppress(Exception):
                sent = datetime.fromisoformat(msg["at"]).timestamp()
                self.lags.append(max(0.0, time.time() - sent))
            if cid in self.counters:
                self.counters[cid] = (msg["number"], "called", self.counters[cid][2])
        elif t == "ticket.status" and cid in self.counters:
            number, _, is_open = self.counters[cid]
            if msg["status"] == "serving":
                self.counters[cid] = (msg["number"], "serving", is_open)
            elif msg["status"] in ("done", "no_show", "held", "closed_out", "cancelled") \
                    and number == msg["number"]:
                self.counters[cid] = (None, None, is_open)
        elif t == "ticket.transferred" and cid in self.counters:
            number, _, is_open = self.counters[cid]
            if number == msg["number"]:
                self.counters[cid] = (None, None, is_open)
        elif t == "counter.changed" and cid in self.counters:
            number, status, _ = self.counters[cid]
            self.counters[cid] = (number, status, bool(msg["is_open"]))

    async def run(self) -> None:
        import websockets

        delay = 0.2
        while not self._stop:
            try:
                async with websockets.connect(self.url, open_timeout=10, ping_interval=None,
                                              max_size=2**22) as ws:
                    self._ws = ws
                    async for raw in ws:
                        msg = json.loads(raw)
                        if msg.get("type") == "snapshot":
                            self.apply_snapshot(msg)
                            self.snapshots.append(time.time())
                            self.connected = True
                            delay = 0.2
                        elif msg.get("type") == "error":
                            self.refused.append(msg["error"]["code"])
                        else:
                            self.apply(msg)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any loss: reconnect, as a real board does
                response = getattr(exc, "response", None)
                status = getattr(response, "status_code", None)
                if status is not None:
                    self.failures.append((time.time(), int(status)))
                rcvd = getattr(exc, "rcvd", None)
                self.closes[f"{type(exc).__name__}:{getattr(rcvd, 'code', '')}"
                            f":{getattr(rcvd, 'reason', '')}"] += 1
            else:
                if not self._stop:
                    self.closes["closed by server"] += 1
            self._ws = None
            if self.connected and not self._stop:
                self.disconnects.append(time.time())
            self.connected = False
            if self._stop:
                break
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def stop(self) -> None:
        self._stop = True
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()


async def fresh_snapshot(base_ws: str, query: str) -> dict[int, tuple[Any, Any, bool]] | None:
    import websockets

    try:
        async with websockets.connect(f"{base_ws}/ws/display?{query}", open_timeout=10,
                                      ping_interval=None, max_size=2**22) as ws:
            msg = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if msg.get("type") != "snapshot":
                return None
            return {c["id"]: (c["ticket"], c["status"], c["is_open"]) for c in msg["counters"]}
    except Exception:  # noqa: BLE001
        return None


class Day:
    """One compressed day of kiosks, citizens, officers and boards against a server."""

    def __init__(self, base_url: str, mall: Mall, plan: Plan, recorder: Recorder | None = None,
                 boards: int = 20) -> None:
        self.base = base_url
        self.base_ws = base_url.replace("http://", "ws://")
        self.mall = mall
        self.plan = plan
        self.rec = recorder or Recorder()
        self.rng = random.Random(plan.seed + 1)
        self.boards = self._make_boards(boards)
        self.started = 0.0
        self.finished = 0.0
        self._closing = False
        self.kiosk_gave_up = 0

    def _make_boards(self, n: int) -> list[Board]:
        m = self.mall
        queries = [f"site_id={m.site_id}"] * 4
        queries += [f"site_id={m.site_id}&agency_id={a}" for a in m.agency_ids]
        queries += [f"site_id={m.site_id}&zone={z}" for z in m.zones]
        queries = (queries * ((n // len(queries)) + 1))[:n]
        return [Board(self.base_ws, q, f"board{k + 1}") for k, q in enumerate(queries)]

    def client(self, max_connections: int) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.base, timeout=httpx.Timeout(30.0, connect=5.0),
            limits=httpx.Limits(max_connections=max_connections,
                                max_keepalive_connections=max_connections))

    # kiosks and citizens

    async def visitor(self, client: httpx.AsyncClient, kiosk: str, sem: asyncio.Semaphore
                      ) -> None:
        services = self.mall.services
        service = self.rng.choices(services, weights=[s.weight for s in services])[0]
        prio = "lansia" if self.rng.random() < self.plan.priority_share else None
        key = uuid.uuid4().hex
        headers = {"Authorization": f"Bearer {kiosk}", "Idempotency-Key": key}
        body: dict[str, Any] = {"service_id": service.id, "priority": prio}
        if self.rng.random() < self.plan.visit_share:
            # A visit: one or two more services, each of another agency.
            others = [s for s in services if s.agency_id != service.agency_id]
            steps: list[ServiceInfo] = []
            for _ in range(self.rng.choice((1, 2))):
                pool = [s for s in others if all(s.agency_id != x.agency_id for x in steps)]
                steps.append(self.rng.choices(pool, weights=[s.weight for s in pool])[0])
            body["next_service_ids"] = [s.id for s in steps]
        delay = 0.2
        deadline = time.monotonic() + 60
        async with sem:
            while True:
                r = await self.rec.request(client, "POST", "/api/v1/tickets", json=body,
                                           headers=headers)
                if r is not None and r.status_code in (200, 201):
                    self.rec.acks[key] = r.json()
                    break
                # No answer, or the database is away: the kiosk retries with the same key.
                if (r is None or r.status_code == 503) and time.monotonic() < deadline:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 2.0)
                    continue
                self.kiosk_gave_up += 1
                return
        if self.rng.random() < self.plan.track_share:
            await asyncio.sleep(self.rng.uniform(0.2, 3.0))
            await self.rec.request(client, "GET",
                                   f"/api/v1/track/{self.rec.acks[key]['tracking_code']}")

    async def kiosks(self) -> None:
        arrivals = self.plan.arrivals()
        tokens = self.mall.kiosk_tokens
        sem = asyncio.Semaphore(16)
        tasks = []
        async with self.client(16) as client:
            for k, offset in enumerate(arrivals):
                wait = self.started + offset - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                tasks.append(asyncio.create_task(
                    self.visitor(client, tokens[k % len(tokens)], sem)))
            await asyncio.gather(*tasks)

    async def kiosk_screens(self) -> None:
        """Each kiosk refreshes its catalog (open services, waiting counts) every few seconds."""
        async with self.client(4) as client:
            while not self._closing:
                for _ in self.mall.kiosk_tokens:
                    await self.rec.request(client, "GET", "/api/v1/catalog",
                                           params={"site_id": self.mall.site_id})
                await asyncio.sleep(3.0)

    # officers

    async def sign_in(self, client: httpx.AsyncClient, counter: CounterInfo,
                      sem: asyncio.Semaphore) -> dict[str, str]:
        """Before the doors open: the officer signs in and opens the counter."""
        rec = self.rec
        h: dict[str, str] = {}
        async with sem:
            while not h:
                r = await rec.request(client, "POST", "/api/v1/auth/token",
                                      data={"username": counter.officer, "password": PASSWORD})
                if r is not None and r.status_code == 200:
                    h = {"Authorization": f"Bearer {r.json()['access_token']}"}
                else:
                    await asyncio.sleep(0.5)
            while True:
                r = await rec.request(client, "POST", f"/api/v1/counters/{counter.id}/open",
                                      headers=h)
                if r is not None and r.status_code == 200:
                    return h
                await asyncio.sleep(0.5)

    async def officer(self, client: httpx.AsyncClient, counter: CounterInfo,
                      h: dict[str, str]) -> None:
        rec, rng, plan = self.rec, random.Random(counter.id), self.plan
        base = f"/api/v1/counters/{counter.id}"
        typical = {s.id: s.typical_minutes for s in self.mall.services}
        others = [s.id for s in self.mall.services]
        while not self._closing:
            r = await rec.request(client, "POST", f"{base}/call-next", headers=h)
            ticket = None
            if r is not None and r.status_code == 200:
                ticket = r.json()
            elif r is not None and r.status_code == 204:
                # Nobody waits: the officer looks up again a little later (not a busy loop).
                await asyncio.sleep(1.5)
                continue
            else:
                # Unknown outcome (no answer, 503, busy): ask the console what is at the desk.
                await asyncio.sleep(0.3)
                c = await rec.request(client, "GET", f"{base}/console", headers=h)
                if c is None or c.status_code != 200:
                    continue
                snap = c.json()
                if not snap["counter"]["is_open"]:
                    await rec.request(client, "POST", f"{base}/open", headers=h)
                    continue
                ticket = snap.get("current")
                if ticket is None:
                    continue
            rec.calls += 1
            await self.serve(client, h, ticket, typical, others, rng, plan)

    async def serve(self, client: httpx.AsyncClient, h: dict[str, str], ticket: dict[str, Any],
                    typical: dict[int, int], others: list[int], rng: random.Random,
                    plan: Plan) -> None:
        rec = self.rec
        tid = ticket["id"]
        minutes = typical[ticket["service_id"]] * rng.uniform(*plan.service_factor)
        seconds = minutes * 60 * plan.scale
        roll = rng.random()
        if ticket["status"] == "called":
            if roll < plan.recall_share:
                await asyncio.sleep(min(seconds / 4, 1.0))
                await rec.request(client, "POST", f"/api/v1/tickets/{tid}/recall", headers=h)
            if roll > 1 - plan.no_show_share:
                await asyncio.sleep(min(seconds / 2, 2.0))
                await self._until_done(client, "POST", f"/api/v1/tickets/{tid}/no-show", h)
                return
            await self._until_done(client, "POST", f"/api/v1/tickets/{tid}/start", h)
        await asyncio.sleep(seconds)
        if plan.recall_share <= roll < plan.recall_share + plan.transfer_share:
            target = rng.choice([s for s in others if s != ticket["service_id"]])
            r = await self._until_done(client, "POST", f"/api/v1/tickets/{tid}/transfer", h,
                                       json={"service_id": target})
            if r is not None and r.status_code == 201:
                rec.transfers.append(r.json())
            return
        await self._until_done(client, "POST", f"/api/v1/tickets/{tid}/finish", h)

    async def _until_done(self, client: httpx.AsyncClient, method: str, path: str,
                          h: dict[str, str], **kw: Any) -> httpx.Response | None:
        """Retry a state change whose answer was lost; a 409 afterwards means it went through."""
        for attempt in range(40):
            r = await self.rec.request(client, method, path, headers=h, **kw)
            if r is not None and r.status_code != 503:
                return r
            await asyncio.sleep(min(0.2 * (attempt + 1), 2.0))
        return None

    # the day

    async def run(self, during: Any = None) -> None:
        """Play the day; `during(day)` (a coroutine) runs alongside, e.g. to inject faults."""
        board_tasks = [asyncio.create_task(b.run()) for b in self.boards]
        for _ in range(100):
            if all(b.connected for b in self.boards):
                break
            await asyncio.sleep(0.1)
        officers_client = self.client(24)
        sem = asyncio.Semaphore(4)  # password hashing is slow on purpose; do not queue 40
        heads = await asyncio.gather(*(self.sign_in(officers_client, c, sem)
                                       for c in self.mall.counters))
        self.started = time.monotonic()
        self.started_wall = time.time()
        officers = [asyncio.create_task(self.officer(officers_client, c, h))
                    for c, h in zip(self.mall.counters, heads, strict=True)]
        screens = asyncio.create_task(self.kiosk_screens())
        extra = asyncio.create_task(during(self)) if during is not None else None
        await self.kiosks()
        remaining = self.started + self.plan.day_seconds - time.monotonic()
        if remaining > 0:
            await asyncio.sleep(remaining)
        if extra is not None:
            await extra
        self._closing = True
        # Officers finish the citizen at the desk (their loop ends at the next call).
        results = await asyncio.wait_for(asyncio.gather(*officers, return_exceptions=True), 120)
        self.officer_errors = [repr(r) for r in results if isinstance(r, BaseException)]
        await officers_client.aclose()
        await screens
        self.finished = time.monotonic()
        self._board_tasks = board_tasks

    async def boards_in_sync(self, within: float = 5.0) -> dict[str, Any]:
        """Wait until every board's view equals a fresh snapshot; how long it took."""
        start = time.monotonic()
        pending = list(self.boards)
        fresh: dict[str, Any] = {}
        while pending and time.monotonic() - start < within:
            still = []
            for b in pending:
                query = b.url.split("?", 1)[1]
                if query not in fresh:
                    fresh[query] = await fresh_snapshot(self.base_ws, query)
                if fresh[query] is None or b.counters != fresh[query]:
                    still.append(b)
            pending = still
            if pending:
                fresh.clear()
                await asyncio.sleep(0.25)
        differences = {}
        for b in pending[:5]:
            want = await fresh_snapshot(self.base_ws, b.url.split("?", 1)[1]) or {}
            differences[b.name] = {cid: {"board": b.counters.get(cid), "server": want.get(cid)}
                                   for cid in sorted(set(b.counters) | set(want))
                                   if b.counters.get(cid) != want.get(cid)}
        return {"boards": len(self.boards), "out_of_sync": [b.name for b in pending],
                "differences": differences, "seconds": round(time.monotonic() - start, 2)}

    async def stop_boards(self) -> None:
        for b in self.boards:
            await b.stop()
        for t in getattr(self, "_board_tasks", []):
            t.cancel()
        await asyncio.gather(*getattr(self, "_board_tasks", []), return_exceptions=True)


# --- end of day and report ------------------------------------------------------------------


def close_day(base_url: str, site_id: int, database_url: str) -> dict[str, Any]:
    with httpx.Client(base_url=base_url, timeout=60) as c:
        token = c.post("/api/v1/auth/token",
                       data={"username": "admin", "password": PASSWORD}).json()["access_token"]
        r = c.post(f"/api/v1/sites/{site_id}/close-day",
                   headers={"Authorization": f"Bearer {token}"})
        if r.status_code == 200:
            return dict(r.json())
    # No admin endpoint in this build: the service does the same.
    from app.db.session import make_engine, make_session_factory, unit_of_work
    from app.services import tickets
    from app.services.context import Ctx
    from app.services.mallfile import SYSTEM

    engine = make_engine(database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            n = tickets.close_out(Ctx(session=session, now=datetime.now(UTC), actor=SYSTEM),
                                  site_id=site_id, all_today=True)
        return {"tickets_closed": n}
    finally:
        engine.dispose()


def accounting(database_url: str, rec: Recorder) -> dict[str, Any]:
    """The end-of-day check, straight from the database."""
    with psycopg.connect(_libpq(database_url)) as conn:
        by_status = dict(conn.execute("SELECT status, count(*) FROM ticket GROUP BY status")
                         .fetchall())
        by_channel = dict(conn.execute("SELECT channel, count(*) FROM ticket GROUP BY channel")
                          .fetchall())
        dupes = conn.execute(
            "SELECT count(*) FROM (SELECT site_id, day, number FROM ticket "
            "GROUP BY site_id, day, number HAVING count(*) > 1) d").fetchone()[0]
        # By prefix, not service_id: a visit's ticket ends in another service's queue with the
        # number (and seq) of its first service.
        gaps = conn.execute(
            "SELECT count(*) FROM (SELECT split_part(number, '-', 1), day, max(seq) AS m, "
            "count(*) AS n FROM ticket GROUP BY 1, day) g WHERE m <> n").fetchone()[0]
        steps = dict(conn.execute("SELECT status, count(*) FROM visit_step GROUP BY status")
                     .fetchall())
        visits = dict(conn.execute(
            "SELECT n, count(*) FROM (SELECT ticket_id, count(*) AS n FROM visit_step "
            "GROUP BY ticket_id) v GROUP BY n")
            .fetchall())
        step_events = events_of(conn, "step_queued")
        ids = [t["id"] for t in rec.acks.values()]
        found = conn.execute("SELECT count(*) FROM ticket WHERE id = ANY(%s)", (ids,)
                             ).fetchone()[0]
        numbers_match = conn.execute(
            "SELECT count(*) FROM ticket WHERE id = ANY(%s) AND number = ANY(%s)",
            (ids, [t["number"] for t in rec.acks.values()])).fetchone()[0]
        events = dict(conn.execute("SELECT type, count(*) FROM ticket_event GROUP BY type")
                      .fetchall())
    total = sum(by_status.values())
    terminal = sum(by_status.get(s, 0) for s in TERMINAL)
    return {
        "tickets": total, "by_status": by_status, "by_channel": by_channel,
        "balanced": total == terminal, "open_left": total - terminal,
        "duplicate_numbers": dupes, "services_with_gaps": gaps,
        "kiosk_answers": len(rec.acks), "kiosk_answers_found": found,
        "kiosk_numbers_match": numbers_match, "events": events,
        "steps": steps, "visits_by_steps": visits, "steps_moved_on": step_events,
        "visits_asked": sum(1 for t in rec.acks.values() if len(t.get("steps") or []) > 1),
        "steps_open": sum(steps.get(x, 0) for x in ("pending", "current")),
    }


def events_of(conn: Any, kind: str) -> int:
    return int(conn.execute("SELECT count(*) FROM ticket_event WHERE type = %s", (kind,))
               .fetchone()[0])


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def scrape_metrics(base_url: str) -> dict[str, float]:
    out: dict[str, float] = {}
    with contextlib.suppress(Exception):
        text = httpx.get(f"{base_url}/metrics", timeout=10).text
        for line in text.splitlines():
            for name in ("mpp_tickets_issued_total", "mpp_tickets_called_total", "mpp_workers",
                         "mpp_bus_reconnects_total"):
                if line.startswith(name + " "):
                    out[name] = float(line.split()[-1])
    return out


def server_latency(base_url: str) -> dict[str, tuple[int, float, float]]:
    """Per route, from the workers' own histogram: (count, p50 bound, p99 bound) in ms.

    Measured inside the server, so it leaves out client-side queueing and the load generator's
    own CPU starvation; a bound is the histogram bucket the percentile falls in.
    """
    buckets: dict[str, dict[float, float]] = defaultdict(lambda: defaultdict(float))
    pat = re.compile(r'^mpp_request_seconds_bucket\{(.*)\} ([0-9.e+]+)$')
    with contextlib.suppress(Exception):
        for line in httpx.get(f"{base_url}/metrics", timeout=10).text.splitlines():
            m = pat.match(line)
            if not m:
                continue
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
            if labels.get("route", "").startswith(("/metrics", "/readyz", "/healthz")):
                continue
            le = float("inf") if labels["le"] == "+Inf" else float(labels["le"])
            buckets[f"{labels['method']} {labels['route']}"][le] += float(m.group(2))
    out = {}
    for route, by_le in buckets.items():
        bounds = sorted(by_le)
        total = by_le[bounds[-1]]
        if not total:
            continue

        def q(p: float, bounds: list[float] = bounds, by_le: dict[float, float] = by_le,
              total: float = total) -> float:
            for le in bounds:
                if by_le[le] >= p * total:
                    return le * 1000
            return float("inf")

        out[route] = (int(total), q(0.5), q(0.99))
    return out


def report(day: Day, plan: Plan, acct: dict[str, Any], sync: dict[str, Any],
           metrics: dict[str, float], workers: int) -> str:
    rec = day.rec
    lines = []
    elapsed = day.finished - day.started
    # Throughput over the day itself (officers' sign-in before opening is left out).
    n = sum(1 for o in rec.outcomes if o.at >= day.started_wall)
    lines.append(f"Monday peak: {plan.visitors} visitors, the day 07.30-16.30 compressed into "
                 f"{plan.day_seconds:.0f} s (x{1 / plan.scale:.0f}), {len(day.mall.counters)} "
                 f"counters, {len(day.boards)} display boards, {workers} workers, PostgreSQL")
    profile = Tally()
    for off in plan.arrivals():
        profile[int(DAY_START + off / plan.scale / 3600)] += 1
    before10 = sum(v for h, v in profile.items() if h < 10) / plan.visitors
    busiest = max(profile.values()) / plan.visitors
    lines.append(f"arrivals: {before10:.0%} before 10.00, busiest hour {busiest:.0%}; by hour "
                 + " ".join(f"{h:02d}:{profile[h]}" for h in sorted(profile)))
    lines.append(f"machine: {os.cpu_count()} CPUs, load average now "
                 f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} (the load generator runs on "
                 f"the same CPUs)")
    lines.append(f"throughput: {n} requests in {elapsed:.1f} s = {n / elapsed:.1f} req/s; "
                 f"tickets issued {len(rec.acks)} ({len(rec.acks) / elapsed:.1f}/s), "
                 f"calls {rec.calls}")
    per_sec = Tally(int(o.at) for o in rec.outcomes)
    if per_sec:
        lines.append(f"busiest second: {max(per_sec.values())} requests; busiest 10 s window: "
                     f"{_busiest_window(rec.outcomes, 10) / 10:.1f} req/s")
    lines.append("")
    lines.append(f"{'endpoint':44} {'n':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  statuses")
    by_route: dict[str, list[Outcome]] = defaultdict(list)
    for o in rec.outcomes:
        by_route[o.route].append(o)
    for route in sorted(by_route, key=lambda r: -len(by_route[r])):
        os_ = by_route[route]
        secs = [o.seconds * 1000 for o in os_ if o.status]
        statuses = Tally(o.status for o in os_)
        lines.append(f"{route:44} {len(os_):6} {percentile(secs, 50):8.1f} "
                     f"{percentile(secs, 99):8.1f} {max(secs, default=0):8.1f}  "
                     + " ".join(f"{k}:{v}" for k, v in sorted(statuses.items())))
    lines.append("")
    five = Tally((o.status, o.code) for o in rec.outcomes if o.status >= 500)
    four = Tally(o.code for o in rec.outcomes if 400 <= o.status < 500)
    no_answer = sum(1 for o in rec.outcomes if o.status == 0)
    lines.append(f"errors: 5xx {sum(five.values())} {dict(five) or ''}; no answer {no_answer}; "
                 f"4xx {sum(four.values())} {dict(four) or ''}; kiosks gave up "
                 f"{day.kiosk_gave_up}")
    no_answer_kinds = Tally(o.code for o in rec.outcomes if o.status == 0)
    if no_answer_kinds:
        lines.append(f"no answer, by kind: {dict(no_answer_kinds)}")
    if getattr(day, "officer_errors", None):
        lines.append(f"officer loops that crashed: {day.officer_errors}")
    lags = [x for b in day.boards for x in b.lags]
    lines.append(f"boards: {len(day.boards)} connected; ticket.called events received "
                 f"{sum(b.called_events for b in day.boards)}; call -> board latency "
                 f"p50 {percentile(lags, 50) * 1000:.0f} ms, p99 {percentile(lags, 99) * 1000:.0f}"
                 f" ms; reconnects {sum(len(b.disconnects) for b in day.boards)}; in sync with "
                 f"a fresh snapshot: {sync['boards'] - len(sync['out_of_sync'])}/{sync['boards']}")
    for name, diff in (sync.get("differences") or {}).items():
        lines.append(f"  {name} differs from the server, (ticket, status, open): {diff}")
    closes = sum((b.closes for b in day.boards), Tally())
    if closes:
        at = getattr(day, "closing_at", None)
        during = sum(1 for b in day.boards for t in b.disconnects if at is None or t < at)
        lines.append(f"board connections ended: {dict(closes)}; {during} during the day, "
                     f"{sum(closes.values()) - during} after close-day began")
    lines.append("")
    s = acct["by_status"]
    ok = "OK" if acct["balanced"] else "MISMATCH"
    lines.append(f"end of day: {acct['tickets']} tickets ({acct['by_channel']}) = done "
                 f"{s.get('done', 0)} + no_show {s.get('no_show', 0)} + transferred "
                 f"{s.get('transferred', 0)} + closed out {s.get('closed_out', 0)} + cancelled "
                 f"{s.get('cancelled', 0)}; still open {acct['open_left']} -> {ok}")
    lines.append(f"kiosk answers {acct['kiosk_answers']}, found in the database "
                 f"{acct['kiosk_answers_found']} (numbers match {acct['kiosk_numbers_match']}); "
                 f"duplicate numbers {acct['duplicate_numbers']}; services with gaps "
                 f"{acct['services_with_gaps']}")
    if acct["visits_asked"]:
        st = acct["steps"]
        vs = acct["visits_by_steps"]
        lines.append(
            f"visits of several services: {acct['visits_asked']} issued "
            f"({acct['visits_asked'] / max(1, acct['kiosk_answers']):.0%} of kiosk tickets; "
            + ", ".join(f"{n} steps: {vs[n]}" for n in sorted(vs) if n > 1)
            + f"); steps {sum(st.values())} = done {st.get('done', 0)} + no_show "
            f"{st.get('no_show', 0)} + transferred {st.get('transferred', 0)} + cancelled "
            f"{st.get('cancelled', 0)} + closed out {st.get('closed_out', 0)}; still open "
            f"{acct['steps_open']} -> {'OK' if acct['steps_open'] == 0 else 'MISMATCH'}; "
            f"moved on to a next step {acct['steps_moved_on']} times")
    inside = server_latency(day.base)
    if inside:
        lines.append("")
        lines.append("inside the server (mpp_request_seconds, all workers; bucket bounds):")
        for route, (count, p50, p99) in sorted(inside.items(), key=lambda x: -x[1][0])[:8]:
            lines.append(f"  {route:44} {count:6}  p50 <= {p50:6.0f} ms  p99 <= {p99:6.0f} ms")
    if metrics:
        lines.append("prometheus (/metrics, all workers): " + ", ".join(
            f"{k} {v:.0f}" for k, v in sorted(metrics.items())))
    return "\n".join(lines)


def _busiest_window(outcomes: list[Outcome], width: float) -> int:
    times = sorted(o.at for o in outcomes)
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] < t - width:
            j += 1
        best = max(best, i - j + 1)
    return best


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--visitors", type=int, default=3000)
    p.add_argument("--minutes", type=float, default=4.0, help="real minutes for the whole day")
    p.add_argument("--counters", type=int, default=40)
    p.add_argument("--boards", type=int, default=20)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--visit-share", type=float, default=0.3,
                   help="share of visitors on a visit of 2-3 services (0.3 = 30 %%)")
    p.add_argument("--database-url", default=os.environ.get(
        "MPP_BENCH_DATABASE_URL", os.environ.get(
            "MPP_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")))
    p.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = p.parse_args(argv)

    url = create_database(args.database_url)
    log_path = Path(tempfile.gettempdir()) / f"monday-peak-{os.getpid()}.log"
    server = None
    try:
        mall = build_mall(url, counters=args.counters)
        server = start_server(url, workers=args.workers, log_path=log_path)
        plan = Plan(visitors=args.visitors, day_seconds=args.minutes * 60,
                    visit_share=args.visit_share)
        day = Day(server.url, mall, plan, boards=args.boards)

        async def play() -> dict[str, Any]:
            await day.run()
            day.closing_at = time.time()
            closed = await asyncio.to_thread(close_day, server.url, mall.site_id, url)
            sync = await day.boards_in_sync(within=10.0)
            await day.stop_boards()
            return {"closed": closed, "sync": sync}

        out = asyncio.run(play())
        acct = accounting(url, day.rec)
        metrics = scrape_metrics(server.url)
        print(report(day, plan, acct, out["sync"], metrics, args.workers))
        print(f"close-day: {out['closed']}")
        print(f"server log: {log_path}")
        good = (acct["balanced"] and acct["duplicate_numbers"] == 0 and acct["steps_open"] == 0
                and acct["kiosk_answers_found"] == acct["kiosk_answers"]
                and not out["sync"]["out_of_sync"]
                and not any(o.status >= 500 for o in day.rec.outcomes))
        return 0 if good else 1
    finally:
        if server is not None:
            server.stop()
        if not args.keep:
            drop_database(url)


if __name__ == "__main__":
    sys.exit(main())
