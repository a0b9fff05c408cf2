"""Faults under load: kill -9 a worker, drop the LISTEN connections, restart PostgreSQL.

A smaller Monday (bench/monday_peak.py's harness) runs against 2 uvicorn workers on PostgreSQL
while the faults are injected one after the other. Afterwards:
- every ticket a kiosk got an answer for exists, with the number the kiosk printed;
- numbers have no duplicates (and no gaps), and every ticket is accounted for at day's end;
- every board websocket got a fresh snapshot within 5 s of each fault and, at the end, shows
  exactly what a fresh snapshot shows;
- no client got a 500; 503 (code database_unavailable) only while the database was down.

It restarts the machine's shared PostgreSQL, so it runs only when MPP_TEST_DATABASE_URL is set,
alone in its xdist group, and keeps the downtime to one fast restart.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from bench.monday_peak import (
    Day,
    Plan,
    accounting,
    build_mall,
    close_day,
    create_database,
    drop_database,
    start_server,
)
from tests.support.databases import PG_URL

pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group("pg-restart"),
    pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (MPP_TEST_DATABASE_URL)"),
]
RESYNC_SECONDS = 5.0
# Answers that arrive this long after PostgreSQL is back may still be 503 (pool pre-ping and
# in-flight transactions that were cut); anything later must be healthy.
DB_GRACE_SECONDS = 3.0
# Set to 1 where restarting PostgreSQL is not allowed: the other two faults still run.
NO_RESTART = os.environ.get("MPP_FAULTS_NO_PG_RESTART") == "1"


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _pg_cluster() -> tuple[str, str]:
    versions = sorted(os.listdir("/etc/postgresql"))
    return versions[-1], "main"


def _wait_db(url: str, timeout: float = 60.0) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with psycopg.connect(_libpq(url), connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return time.time()
        except psycopg.Error:
            time.sleep(0.1)
    raise RuntimeError("PostgreSQL did not come back")


def _watch_db(url: str, timeout: float = 90.0) -> tuple[float, float]:
    """Poll PostgreSQL: when it first refused us, and when it first answered again."""
    deadline = time.monotonic() + timeout
    gone = None
    while time.monotonic() < deadline:
        try:
            with psycopg.connect(_libpq(url), connect_timeout=1) as conn:
                conn.execute("SELECT 1")
            if gone is not None:
                return gone, time.time()
        except psycopg.Error:
            if gone is None:
                gone = time.time()
        time.sleep(0.05)
    raise RuntimeError("PostgreSQL did not go down and come back")


class DbMonitor:
    """Probes PostgreSQL all along: when did it refuse a new connection (down, restarting,
    or "too many clients" while the whole machine reconnects)? 503s are fair only then."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.refused: list[float] = []
        self._stop = False

    def run(self) -> None:
        while not self._stop:
            try:
                with psycopg.connect(_libpq(self.url), connect_timeout=1) as conn:
                    conn.execute("SELECT 1")
            except psycopg.Error:
                self.refused.append(time.time())
            time.sleep(0.1)

    def stop(self) -> None:
        self._stop = True

    def unavailable_at(self, t: float, grace: float) -> bool:
        return any(r - 1.0 <= t <= r + grace for r in self.refused)


def _listeners(url: str) -> list[int]:
    dbname = url.rpartition("/")[2]
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND query ILIKE 'LISTEN%%'",
            (dbname,)).fetchall()
    return [r[0] for r in rows]


def _snapshot_after(board: Any, t0: float, within: float) -> float | None:
    """Seconds from t0 to the board's first fresh snapshot after t0 (None if none in time)."""
    later = [t for t in board.snapshots if t > t0]
    if not later or later[0] - t0 > within:
        return None
    return later[0] - t0


async def _until(pred: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        await asyncio.sleep(0.1)
    return bool(pred())


def test_faults_under_load(tmp_path: Path) -> None:
    url = create_database(PG_URL, prefix="mpp_t_faults")
    server = None
    try:
        mall = build_mall(url, counters=12, kiosks=4)
        server = start_server(url, workers=2, log_path=tmp_path / "server.log")
        plan = Plan(visitors=500, day_seconds=70.0, seed=7)
        day = Day(server.url, mall, plan, boards=8)
        log: dict[str, Any] = {}

        async def inject(d: Day) -> None:
            # 1. kill -9 one worker while kiosks and officers are busy.
            await asyncio.sleep(max(0.0, d.started + 12 - time.monotonic()))
            pids = server.worker_pids()
            assert len(pids) == 2, pids
            victim = pids[0]
            t_kill = time.time()
            os.kill(victim, signal.SIGKILL)
            log["killed"] = victim
            # The master replaces the worker; boards of the dead one come back by themselves.
            replaced = await _until(lambda: len(server.worker_pids()) == 2
                                    and victim not in server.worker_pids(), 30)
            log["worker_replaced"] = replaced
            await asyncio.sleep(RESYNC_SECONDS + 0.5)
            # The new worker is up once its own LISTEN connection is (it imports the app first).
            t0 = time.time()
            n = 0
            while time.time() - t0 < 60:
                n = len(await asyncio.to_thread(_listeners, url))
                if n >= 2:
                    break
                await asyncio.sleep(0.5)
            log["new_worker_listening_after"] = round(time.time() - t_kill, 1) if n >= 2 else None
            lost = [b for b in d.boards if any(t_kill <= t <= t_kill + 3 for t in b.disconnects)]
            log["kill"] = {
                "boards_disconnected": len(lost),
                "resync_seconds": [_snapshot_after(b, max(x for x in b.disconnects
                                                          if x >= t_kill), RESYNC_SECONDS)
                                   for b in lost],
            }

            # 2. drop every worker's LISTEN connection.
            await asyncio.sleep(3)
            listeners = await asyncio.to_thread(_listeners, url)
            t_drop = time.time()
            with psycopg.connect(_libpq(url), autocommit=True) as conn:
                for pid in listeners:
                    conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
            await asyncio.sleep(RESYNC_SECONDS + 0.5)
            log["listen_drop"] = {
                "listeners_dropped": len(listeners),
                "listeners_after": len(await asyncio.to_thread(_listeners, url)),
                "resync_seconds": [_snapshot_after(b, t_drop, RESYNC_SECONDS)
                                   for b in d.boards],
            }

            # 3. restart PostgreSQL (fast shutdown; the machine's shared cluster: once, briefly).
            await asyncio.sleep(3)
            if NO_RESTART:
                return
            version, cluster = _pg_cluster()
            t_down = time.time()
            # pg_ctlcluster may return well after the server accepts connections again: a
            # watcher notes when it really went away and came back.
            watcher = asyncio.create_task(asyncio.to_thread(_watch_db, url))
            proc = await asyncio.to_thread(
                subprocess.run, ["pg_ctlcluster", "--skip-systemctl-redirect", version, cluster,
                                 "restart"], capture_output=True, timeout=120)
            t_gone, t_up = await watcher
            await asyncio.to_thread(_wait_db, url)
            log["pg_restart"] = {"rc": proc.returncode, "stderr": proc.stderr.decode()[-300:],
                                 "down": t_down, "up": t_up,
                                 "refused_from": round(t_gone - t_down, 2),
                                 "back_after": round(t_up - t_down, 2),
                                 "ctl_returned_after": round(time.time() - t_down, 2)}
            await asyncio.sleep(RESYNC_SECONDS + 1.0)
            log["pg_restart"]["resync_seconds"] = [
                _snapshot_after(b, t_up, RESYNC_SECONDS) for b in d.boards]
            log["pg_restart"]["listeners_after"] = len(await asyncio.to_thread(_listeners, url))
            log["pg_restart"]["timeline"] = {
                b.name: {"snapshots": [round(t - t_down, 2) for t in b.snapshots
                                       if t_down - 1 <= t <= t_up + 10],
                         "disconnects": [round(t - t_down, 2) for t in b.disconnects
                                         if t_down - 1 <= t <= t_up + 10],
                         "failures": [(round(t - t_down, 2), st) for t, st in b.failures]}
                for b in d.boards}

        monitor = DbMonitor(url)

        async def play() -> dict[str, Any]:
            probe = asyncio.create_task(asyncio.to_thread(monitor.run))
            try:
                await day.run(during=inject)
            finally:
                monitor.stop()
                await probe
            closed = await asyncio.to_thread(close_day, server.url, mall.site_id, url)
            sync = await day.boards_in_sync(within=RESYNC_SECONDS)
            await day.stop_boards()
            return {"closed": closed, "sync": sync}

        out = asyncio.run(play())
        acct = accounting(url, day.rec)
        with httpx.Client(base_url=server.url, timeout=10) as c:
            ready = c.get("/readyz").json()
        print("\nfault log:", log)
        print("accounting:", acct)
        print("board sync at the end:", out["sync"])
        print("database refused the probe at:",
              [round(t - log.get("pg_restart", {}).get("down", 0), 2) for t in monitor.refused])
        from collections import Counter as Tally

        print("answers:", dict(Tally((o.status, o.code) for o in day.rec.outcomes)))
        print("board handshake failures:", [(b.name, s) for b in day.boards for _, s in b.failures])

        # Collect every problem first: one run of this test should tell the whole story.
        problems: list[str] = []

        def check(ok: bool, what: str) -> None:
            if not ok:
                problems.append(what)

        if NO_RESTART:
            now = time.time()
            log["pg_restart"] = {"rc": 0, "down": now, "up": now, "resync_seconds": [],
                                 "listeners_after": 2}
        # The faults happened.
        check(log["worker_replaced"], "uvicorn did not replace the killed worker")
        check(log["new_worker_listening_after"] is not None, "the new worker never listened")
        log["db_refused_probes"] = len(monitor.refused)
        check(log["listen_drop"]["listeners_dropped"] >= 2, f"listeners {log['listen_drop']}")
        check(log["pg_restart"]["rc"] == 0, f"pg restart {log['pg_restart']}")
        # Every board came back within 5 s of each fault.
        for fault in ("kill", "listen_drop", "pg_restart"):
            check(None not in log[fault]["resync_seconds"], f"{fault}: a board did not resync "
                  f"within {RESYNC_SECONDS} s: {log[fault]}")
        check(log["listen_drop"]["listeners_after"] >= 2, "LISTEN not back after the drop")
        check(log["pg_restart"]["listeners_after"] >= 2, "LISTEN not back after the restart")
        check(not out["sync"]["out_of_sync"], f"boards out of sync at the end: {out['sync']}")
        check(ready["status"] == "ok" and ready["bus"] is True, f"not ready: {ready}")
        # Every answered ticket exists with its number; no duplicates, no gaps; all accounted.
        check(acct["kiosk_answers"] > 0.9 * plan.visitors, f"too few answers {acct}")
        check(acct["kiosk_answers_found"] == acct["kiosk_answers"], f"answers lost {acct}")
        check(acct["kiosk_numbers_match"] == acct["kiosk_answers"], f"numbers differ {acct}")
        check(acct["duplicate_numbers"] == 0 and acct["services_with_gaps"] == 0,
              f"duplicates or gaps {acct}")
        check(acct["balanced"], f"tickets not accounted for {acct}")
        # No 500 ever; 503 only while the database was down, and then with its code.
        down, up = log["pg_restart"]["down"], log["pg_restart"]["up"] + DB_GRACE_SECONDS

        def db_away(t: float) -> bool:
            return down <= t <= up or monitor.unavailable_at(t, DB_GRACE_SECONDS)

        bad = [o for o in day.rec.outcomes if o.status >= 500 and not (
            o.status == 503 and o.code == "database_unavailable" and db_away(o.at))]
        shown = [(o.route, o.status, o.code, round(o.at - down, 2)) for o in bad[:20]]
        check(not bad, f"bad answers ({len(bad)}): {shown}")
        ws_bad = [(b.name, s, round(t - down, 2)) for b in day.boards for t, s in b.failures
                  if s != 503 or not db_away(t)]
        check(not ws_bad, f"board handshakes refused badly: {ws_bad}")
        assert not problems, "\n".join(problems)
    finally:
        if server is not None:
            server.stop()
        drop_database(url)
