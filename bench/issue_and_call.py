"""Benchmark: ticket issues and call-next over HTTP against real servers, beside pgbench.

For each configuration (SQLite 1 worker; PostgreSQL 1 and 2 workers) it creates a fresh
database, loads a mall of 4 services and 20 counters, starts `uvicorn app.asgi:app`, and runs
  issue  - 50 kiosk clients POST /api/v1/tickets as fast as they can, for --seconds;
  call   - 20 counter clients loop call-next + start (the next call-next finishes it);
  mixed  - both at once (50 kiosks and 20 counters).
Then it runs pgbench on the same PostgreSQL with the bare transactions on the real schema:
behind an issue (upsert the day's sequence row, insert the ticket, insert its event; 50 clients)
and behind a call (lock the queue head FOR UPDATE SKIP LOCKED, update ticket and counter, insert
the event; 20 clients), and prints our throughput as a share of pgbench's. It also reads the
server processes' CPU time (/proc) around each phase: CPU per issue, per call-next + start pair
(which also finishes the pair before), and their sum, the server CPU of a full ticket life.

    python bench/issue_and_call.py [--seconds 10] [--only sqlite:1,postgresql:2]

Clients use the standard library's http.client on keep-alive connections (one per thread), so
the load generator takes as little of the CPU the server needs as possible. See bench/README.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from app.config import Settings  # noqa: E402
from tests.integration.loadmall import OFFICER_PASSWORD, build_load_mall  # noqa: E402
from tests.support.live import prepare_database, start_server  # noqa: E402

# The server runs with its production pools, the defaults of app/config.py (the test helpers'
# frugal 4 + 12 and 2 asyncio connections would open and close connections under load, and two
# asyncio connections let only two call-nexts of a worker contend for the same line heads at a
# time); any of these set in the bench's own environment wins.
_POOLS = ("MPP_DB_POOL_SIZE", "MPP_DB_MAX_OVERFLOW", "MPP_DB_ASYNC_POOL_SIZE")
SERVER_ENV = {k: str(Settings.model_fields[k.removeprefix("MPP_").lower()].default)
              for k in _POOLS}
SERVER_ENV.update({k: os.environ[k] for k in ("MPP_MAX_IN_FLIGHT", *_POOLS)
                   if k in os.environ})
PGBENCH_RUNS = 1
WARM_UP_SECONDS = 3.0
IDLE_SECONDS = 3.0
PG_ADMIN = os.environ.get("MPP_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")

PGBENCH_SQL = """\\set sid random(1, 4)
BEGIN;
INSERT INTO service_day (service_id, day, last_seq, quota_used)
  VALUES (:sid + {svc0}, DATE '2030-01-01', 1, 1)
  ON CONFLICT (service_id, day) DO UPDATE
  SET last_seq = service_day.last_seq + 1, quota_used = service_day.quota_used + 1
  RETURNING last_seq \\gset
INSERT INTO ticket (site_id, agency_id, service_id, day, seq, number, status, channel,
  issued_at, sort_at, call_count, tracking_code)
  VALUES ({site}, {agency}, :sid + {svc0}, DATE '2030-01-01', :last_seq,
  chr(64 + :sid) || '-' || :last_seq,
  'waiting', 'kiosk', now(), now(), 0, left(md5(random()::text || clock_timestamp()::text), 20))
  RETURNING id \\gset
INSERT INTO ticket_event (ticket_id, site_id, agency_id, service_id, type, to_status, at, day,
  hour, weekday, priority)
  VALUES (:id, {site}, {agency}, :sid + {svc0}, 'issued', 'waiting', now(), DATE '2030-01-01',
  10, 2, false);
END;
"""


# A call: the first waiting ticket of the counter's services, locked (another counter's is
# skipped), called to the counter; the counter's priority streak; the event row. One client per
# counter, as at the mall. The queue is
# filled beforehand (CALL_QUEUE tickets, enough for every client's run).
PGBENCH_CALL_SQL = """\\set cid :client_id + 1
BEGIN;
WITH head AS (
  SELECT id FROM ticket
  WHERE service_id BETWEEN {svc1} AND {svc4} AND day = DATE '2030-01-01' AND status = 'waiting'
    AND priority IS NULL
  ORDER BY sort_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
UPDATE ticket t SET status = 'called', counter_id = :cid + {ctr0}, called_at = now(),
  first_called_at = now(), call_count = t.call_count + 1
  FROM head WHERE t.id = head.id
  RETURNING t.id, t.service_id \\gset
UPDATE counter SET priority_streak = 0 WHERE id = :cid + {ctr0};
INSERT INTO ticket_event (ticket_id, site_id, agency_id, service_id, counter_id, type,
  from_status, to_status, at, day, hour, weekday, priority, duration_seconds)
  VALUES (:id, {site}, {agency}, :service_id, :cid + {ctr0}, 'called', 'waiting', 'called',
  now(), DATE '2030-01-01', 10, 2, false, 60);
END;
"""
CALL_QUEUE = 60_000
_CALL_FILL = """
INSERT INTO ticket (site_id, agency_id, service_id, day, seq, number, status, channel,
  issued_at, sort_at, call_count, tracking_code)
SELECT {site}, {agency}, {svc0} + (g % 4), DATE '2030-01-01', g, 'A-' || g, 'waiting', 'kiosk',
  now(), now() + g * interval '1 microsecond', 0, 'pgb' || g
FROM generate_series(1, {n}) g
"""


def process_tree(pid: int) -> list[int]:
    """pid and all its descendants (the uvicorn workers)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            try:
                todo += [int(c) for c in task.read_text().split()]
            except OSError:
                pass
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the server's processes so far."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, dict[int, int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, name: str, seconds: float, ok: bool, status: int = 0) -> None:
        with self.lock:
            self.latencies.setdefault(name, []).append(seconds)
            if not ok:
                self.errors[name] = self.errors.get(name, 0) + 1
                codes = self.statuses.setdefault(name, {})
                codes[status] = codes.get(status, 0) + 1


class Client:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, port: int, token: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def post(self, path: str, body: dict | None = None, **headers: str) -> tuple[int, bytes]:
        data = json.dumps(body).encode() if body is not None else b""
        self.conn.request("POST", path, body=data, headers={**self.headers, **headers})
        r = self.conn.getresponse()
        return r.status, r.read()


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


def kiosk_loop(port: int, token: str, services: list[int], stop: threading.Event,
               start: threading.Barrier, stats: Stats, interval: float = 0.0,
               offset: float = 0.0) -> None:
    """Issue back to back, or (interval > 0) one issue every `interval` seconds: then latency
    counts from the scheduled time, so a server that falls behind is not flattered."""
    c = Client(port, token)
    i = 0
    start.wait()
    due = time.perf_counter() + offset
    while not stop.is_set():
        if interval:
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            if stop.is_set():
                break
            t0 = min(due, time.perf_counter())
            due += interval
        else:
            t0 = time.perf_counter()
        status, _ = c.post("/api/v1/tickets", {"service_id": services[i % len(services)]},
                           **{"Idempotency-Key": uuid.uuid4().hex})
        stats.add("issue", time.perf_counter() - t0, status == 201, status)
        i += 1


def counter_loop(port: int, token: str, counter_id: int, stop: threading.Event,
                 start: threading.Barrier, stats: Stats) -> None:
    c = Client(port, token)
    c.post(f"/api/v1/counters/{counter_id}/open")
    start.wait()
    while not stop.is_set():
        t0 = time.perf_counter()
        status, body = c.post(f"/api/v1/counters/{counter_id}/call-next")
        stats.add("call-next", time.perf_counter() - t0, status in (200, 204), status)
        if status == 204:
            time.sleep(0.01)  # nobody waits; do not spin
            continue
        if status != 200:
            continue
        t0 = time.perf_counter()
        status, _ = c.post(f"/api/v1/tickets/{json.loads(body)['id']}/start")
        stats.add("start", time.perf_counter() - t0, status == 200, status)


def run_phase(port: int, seconds: float, kiosks: list[str], services: list[int],
              counters: list[tuple[str, int]], rate: float = 0.0) -> tuple[Stats, float]:
    """rate > 0: the kiosks together issue `rate` tickets a second, evenly spread."""
    stats, stop = Stats(), threading.Event()
    start = threading.Barrier(len(kiosks) + len(counters) + 1)
    interval = len(kiosks) / rate if rate else 0.0
    threads = [threading.Thread(target=kiosk_loop, args=(port, t, services, stop, start, stats,
                                                         interval, interval * n / len(kiosks)))
               for n, t in enumerate(kiosks)]
    threads += [threading.Thread(target=counter_loop, args=(port, t, cid, stop, start, stats))
                for t, cid in counters]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    return stats, time.perf_counter() - t0


def path_counts(port: int) -> dict[str, float]:
    """Which path answered the issues, call-nexts and starts (mpp_*_path_total; every
    worker's, when the server runs in multi-process mode)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
    except OSError:
        return {}
    finally:
        conn.close()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(("mpp_ticket_issue_path_total{", "mpp_counter_call_path_total{")):
            labels, _, value = line.rpartition(" ")
            key = labels.split("{", 1)[1].rstrip("}").replace('"', "")
            out[key.replace("action=", "").replace("path=", "")] = float(value)
    return out


def create_pg_database() -> str:
    name = f"mpp_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def drop_pg_database(name: str) -> None:
    for attempt in range(5):
        try:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except psycopg.OperationalError:
            # Other jobs on a shared machine may restart PostgreSQL under us; try again.
            time.sleep(2 * (attempt + 1))


def pg_url(name: str, driver: bool = True) -> str:
    base = PG_ADMIN.rpartition("/")[0]
    url = f"{base}/{name}"
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if driver else url


def find_pgbench() -> str | None:
    found = shutil.which("pgbench")
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"), reverse=True):
        return str(candidate)
    return None


def run_pgbench(dbname: str, sql: str, seconds: int, clients: int) -> float | None:
    exe = find_pgbench()
    if exe is None:
        print("pgbench not found (apt-get install postgresql-contrib)")
        return None
    script = Path(tempfile.mkstemp(suffix=".sql")[1])
    script.write_text(sql)
    url = pg_url(dbname, driver=False)
    cmd = [exe, "-n", "-M", "prepared", "-c", str(clients), "-j", "2", "-T", str(seconds),
           "-f", str(script), url]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    script.unlink()
    # An aborted client (a constraint the script breaks) still prints a tps: of the few
    # transactions before the abort. That figure is no limit; refuse it.
    if out.returncode == 0 and "aborted" not in out.stderr:
        for line in out.stdout.splitlines():
            if line.startswith("tps ="):
                return float(line.split()[2])
    print(out.stdout, out.stderr)
    return None


def pgbench_in_own_database(seconds: int, clients: int, counters: int
                            ) -> tuple[float | None, float | None]:
    """pgbench's issue and call transactions on a fresh database of the same schema and mall
    (their tickets would otherwise sit in the benchmarked queues)."""
    dbname = create_pg_database()
    try:
        url = pg_url(dbname)
        prepare_database(url)
        mall = build_load_mall(url, counters=counters, kiosks=1)
        svc = mall.service_ids
        issue = run_pgbench(dbname, PGBENCH_SQL.format(site=mall.site_id, agency=mall.agency_id,
                                                       svc0=svc[0] - 1), seconds, clients)
        with psycopg.connect(pg_url(dbname, driver=False), autocommit=True) as conn:
            conn.execute("DELETE FROM ticket_event")
            conn.execute("DELETE FROM ticket")
            conn.execute(_CALL_FILL.format(site=mall.site_id, agency=mall.agency_id,
                                           svc0=svc[0], n=CALL_QUEUE))
            conn.execute("VACUUM ANALYZE ticket")
            conn.execute("CHECKPOINT")
        call = run_pgbench(dbname, PGBENCH_CALL_SQL.format(
            ctr0=min(mall.counter_ids) - 1, svc1=svc[0], svc4=svc[-1],
            site=mall.site_id, agency=mall.agency_id), seconds, counters)
        return issue, call
    finally:
        drop_pg_database(dbname)
        # Write pgbench's dirty pages out now, and let the machine settle (the dropped
        # database's files, autovacuum), not during our first phase.
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute("CHECKPOINT")
        time.sleep(10)


def summarize(stats: Stats, elapsed: float) -> dict:
    return {
        name: {"n": len(v), "per_s": len(v) / elapsed, "p50": pct(v, 0.5),
               "p99": pct(v, 0.99), "mean": statistics.fmean(v) * 1000,
               "errors": stats.errors.get(name, 0),
               "error_statuses": stats.statuses.get(name, {})}
        for name, v in stats.latencies.items()
    }


def bench_config(backend: str, workers: int, seconds: float, tmp: Path, n_kiosks: int,
                 n_counters: int, pgbench_seconds: int, paced_rate: float | None,
                 paced_share: float) -> dict:
    result: dict = {"config": f"{backend}, {workers} worker{'s' if workers > 1 else ''}"}
    if backend == "postgresql" and pgbench_seconds > 0:
        # First, on an idle machine: the database's own limit for the bare transaction. Its
        # runs differ by up to ±30 % on a shared machine; the best one is that limit.
        runs = [pgbench_in_own_database(pgbench_seconds, n_kiosks, n_counters)
                for _ in range(PGBENCH_RUNS)]
        issues = [i for i, _ in runs if i is not None]
        calls = [c for _, c in runs if c is not None]
        result["pgbench_tps"] = max(issues) if issues else None
        result["pgbench_call_tps"] = max(calls) if calls else None
        print(f"  {result['config']:22} pgbench issue {', '.join(f'{t:.0f}' for t in issues)} "
              f"tps, call {', '.join(f'{t:.0f}' for t in calls)} tps (best counts)", flush=True)
    if paced_rate is None and result.get("pgbench_tps"):
        paced_rate = paced_share * result["pgbench_tps"]
    dbname = None
    if backend == "sqlite":
        url = f"sqlite:///{tmp / f'bench-{uuid.uuid4().hex[:6]}.db'}"
    else:
        dbname = create_pg_database()
        url = pg_url(dbname)
    try:
        prepare_database(url)
        mall = build_load_mall(url, counters=n_counters, kiosks=n_kiosks)
        log_dir = Path(os.environ.get("MPP_BENCH_LOGDIR", tmp))
        server = start_server(url, workers=workers, log_path=log_dir / f"server-{backend}{workers}.log",
                              timeout=180, MPP_LOG_LEVEL="WARNING", **SERVER_ENV)
        try:
            counters = [(server.token(u, OFFICER_PASSWORD), cid)
                        for u, cid in zip(mall.officers, mall.counter_ids, strict=True)]
            # Warm-up, not measured: every worker opens its connections, prepares its statements
            # (PostgreSQL plans each one five times before it keeps a generic plan) and learns
            # the site's time zone; a server that has just started is not the steady state of a
            # mall that opened at 07.30.
            run_phase(server.port, WARM_UP_SECONDS, mall.kiosk_tokens, mall.service_ids, [],
                      paced_rate or 100.0)
            # The server's CPU with no requests (its background jobs, the bus): part of every
            # phase's CPU, and a larger part of a slower phase's per-request figure.
            cpu0 = cpu_seconds(server.proc.pid)
            time.sleep(IDLE_SECONDS)
            result["idle_cpu_per_s"] = (cpu_seconds(server.proc.pid) - cpu0) / IDLE_SECONDS
            phases: dict[str, tuple[list[str], list[tuple[str, int]], float]] = {}
            if paced_rate:
                # First, while the queues are short: the others leave thousands waiting.
                phases["paced"] = (mall.kiosk_tokens, [], paced_rate)
                result["paced_rate"] = paced_rate
            phases["issue"] = (mall.kiosk_tokens, [], 0.0)
            phases["call"] = ([], counters, 0.0)
            phases["mixed"] = (mall.kiosk_tokens, counters, 0.0)
            for phase, (kiosks, ctrs, rate) in phases.items():
                cpu0 = cpu_seconds(server.proc.pid)
                stats, elapsed = run_phase(server.port, seconds, kiosks, mall.service_ids, ctrs,
                                           rate)
                result.setdefault("server_cpu", {})[phase] = cpu_seconds(server.proc.pid) - cpu0
                # Other jobs share this machine; the load says how much CPU the run really had.
                result.setdefault("loadavg", []).append(round(os.getloadavg()[0], 1))
                result[phase] = summarize(stats, elapsed)
                print(f"  {result['config']:22} {phase:6} load {result['loadavg'][-1]:5.1f} "
                      + "  ".join(
                    f"{n}: {r['per_s']:7.1f}/s p50 {r['p50']:6.1f} ms p99 {r['p99']:7.1f} ms"
                    f"{' ERR ' + str(r['error_statuses']) if r['errors'] else ''}"
                    for n, r in result[phase].items()), flush=True)
            result["paths"] = path_counts(server.port)
            print(f"  {result['config']:22} paths (asyncio / reference): {result['paths']}",
                  flush=True)
        finally:
            server.stop()
        return result
    finally:
        if dbname is not None:
            drop_pg_database(dbname)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    p.add_argument("--kiosks", type=int, default=50)
    p.add_argument("--counters", type=int, default=20)
    p.add_argument("--pgbench-seconds", type=int, default=10)
    p.add_argument("--only", default="sqlite:1,postgresql:1,postgresql:2",
                   help="comma-separated backend:workers")
    p.add_argument("--paced-rate", type=float,
                   help="issues/s of the paced phase (default: --paced-share of pgbench's tps)")
    p.add_argument("--paced-share", type=float, default=0.25,
                   help="paced phase at this share of pgbench's tps (default 0.25, the target)")
    p.add_argument("--json", help="also write the results to this file")
    args = p.parse_args()

    results = []
    with tempfile.TemporaryDirectory(prefix="mpp-bench-") as tmp:
        for item in args.only.split(","):
            backend, _, workers = item.partition(":")
            print(f"{backend}, {workers or 1} worker(s): {args.kiosks} kiosks, "
                  f"{args.counters} counters, {args.seconds:g} s per phase", flush=True)
            results.append(bench_config(backend, int(workers or 1), args.seconds, Path(tmp),
                                        args.kiosks, args.counters, args.pgbench_seconds,
                                        args.paced_rate, args.paced_share))

    print()
    head = (f"{'configuration':22} {'phase':6} {'issues/s':>9} {'issue p50':>10} "
            f"{'issue p99':>10} {'calls/s':>8} {'call p50':>9} {'call p99':>9} {'errors':>6}")
    print(head)
    print("-" * len(head))
    for r in results:
        for phase in ("paced", "issue", "call", "mixed"):
            if phase not in r:
                continue
            i = r[phase].get("issue", {})
            c = r[phase].get("call-next", {})
            errors = sum(v["errors"] for v in r[phase].values())

            def f(d: dict, k: str, w: int, fmt: str = ".1f") -> str:
                return f"{d[k]:{w}{fmt}}" if d else " " * (w - 1) + "-"

            print(f"{r['config']:22} {phase:6} {f(i, 'per_s', 9)} {f(i, 'p50', 10)} "
                  f"{f(i, 'p99', 10)} {f(c, 'per_s', 8)} {f(c, 'p50', 9)} {f(c, 'p99', 9)} "
                  f"{errors:6d}")
    print()
    for r in results:
        print(f"{r['config']:22} 1-minute load average after each phase "
              f"({', '.join(p for p in ('paced', 'issue', 'call', 'mixed') if p in r)}): "
              f"{r['loadavg']}")
    for r in results:
        tps = r.get("pgbench_tps")
        if tps:
            share = 100 * r["issue"]["issue"]["per_s"] / tps
            print(f"{r['config']:22} issues {r['issue']['issue']['per_s']:7.1f}/s = "
                  f"{share:5.1f} % of pgbench's {tps:7.1f} tps for the bare transaction "
                  f"(target >= 25 % with 2 workers)")
    for r in results:
        calls, tps = r.get("call", {}).get("call-next"), r.get("pgbench_call_tps")
        if calls and tps:
            pairs = r["call"].get("start", {}).get("per_s", 0.0)
            print(f"{r['config']:22} call-next + start {pairs:7.1f} pairs/s = "
                  f"{100 * pairs / tps:5.1f} % of pgbench's {tps:7.1f} tps for the bare call "
                  f"(target >= 20 %)")
        if "mixed" in r and r["issue"].get("issue"):
            mixed = r["mixed"].get("issue", {}).get("per_s", 0.0)
            print(f"{r['config']:22} mixed: issues {mixed:7.1f}/s = "
                  f"{100 * mixed / r['issue']['issue']['per_s']:5.1f} % of the issue-only rate "
                  f"(target >= 60 %)")
        cpu = r.get("server_cpu", {})
        issued = r["issue"].get("issue", {}).get("n", 0)
        pairs_n = r["call"].get("start", {}).get("n", 0)
        if issued and pairs_n:
            per_issue = 1000 * cpu["issue"] / issued
            per_pair = 1000 * cpu["call"] / pairs_n
            print(f"{r['config']:22} server CPU: {per_issue:.2f} ms per issue, {per_pair:.2f} ms "
                  f"per call-next + start (+ the finish of the one before) = "
                  f"{per_issue + per_pair:.2f} ms per full ticket life")
            idle = r.get("idle_cpu_per_s", 0.0) * args.seconds
            net_issue = 1000 * (cpu["issue"] - idle) / issued
            net_pair = 1000 * (cpu["call"] - idle) / pairs_n
            print(f"{r['config']:22} the same without the idle server's CPU "
                  f"({1000 * r.get('idle_cpu_per_s', 0.0):.0f} ms/s): {net_issue:.2f} + "
                  f"{net_pair:.2f} = {net_issue + net_pair:.2f} ms per full ticket life")
    for r in results:
        if "paced" in r:
            i = r["paced"]["issue"]
            print(f"{r['config']:22} paced: 50 kiosks asked for {r['paced_rate']:.1f} issues/s, "
                  f"got {i['per_s']:.1f}/s, p50 {i['p50']:.1f} ms, p99 {i['p99']:.1f} ms "
                  f"(target p99 < 50 ms)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
