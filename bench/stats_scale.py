"""Statistics at scale: today's dashboard and a month report on 1 week vs 1 year of history.

Generates a 3,000-visitor-a-day MPP (the demo mall: 12 agencies, 37 services) straight into
PostgreSQL with set-based SQL (generate_series; no API, no Python loops per row): tickets, their
ticket_event rows (issued, called, started, finished / no-show / transferred), service_day
quota rows and SKM responses for 10 % of finished tickets. Mondays run 30 % higher, Saturdays
at half. "Now" is today 11:00 in Asia/Jakarta, so today's tickets are partly waiting, called
and served.

It measures on the week, then adds the rest of the year (about a million tickets) to the
same database and measures again:
  - today's dashboard (app.services.dashboard.snapshot), median of 100 runs;
  - a month report (app.services.stats.report, last 30 days, by service), median of 7 runs;
  - a quarter's IKM report (app.services.survey.ikm_report), median of 7 runs.
Targets: dashboard < 50 ms and within 20 % across sizes; month report < 500 ms.

    MPP_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres \
        python -m bench.stats_scale [--visitors 3000] [--keep]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.db.migrate import upgrade  # noqa: E402
from app.db.models import Site, TicketEvent, User  # noqa: E402
from app.db.session import make_engine, make_session_factory, unit_of_work  # noqa: E402
from app.services import auth, dashboard, stats, survey  # noqa: E402
from app.services.context import Ctx  # noqa: E402

TZ = "Asia/Jakarta"

# One statement generates a day range: the (day, n) grid, a service per visitor, times.
GENERATE = """
DROP TABLE IF EXISTS bench_gen;
SELECT setseed(:seed);
CREATE UNLOGGED TABLE bench_gen AS
WITH svc AS (
    SELECT s.id, s.agency_id, s.prefix, s.typical_minutes,
           row_number() OVER (ORDER BY s.id) - 1 AS idx,
           (SELECT array_agg(c.id ORDER BY c.id) FROM counter c
             JOIN counter_service cs ON cs.counter_id = c.id WHERE cs.service_id = s.id) AS counters,
           (SELECT min(u.id) FROM user_account u WHERE u.agency_id = s.agency_id) AS officer
    FROM service s WHERE s.site_id = :site
), nsvc AS (SELECT count(*) AS n FROM svc),
days AS (
    SELECT d::date AS day,
           CASE extract(isodow FROM d) WHEN 1 THEN 1.3 WHEN 6 THEN 0.5 WHEN 7 THEN 0 ELSE 1.0 END
             AS factor
    FROM generate_series(CAST(:first AS date), CAST(:last AS date), interval '1 day') d
), grid AS (
    SELECT day, n FROM days,
           LATERAL generate_series(1, (:visitors * factor)::int) n
), raw AS (
    SELECT g.day, g.n,
           -- Services are not equally busy: a skewed pick puts Dukcapil and Samsat on top.
           floor(power(random(), 1.8) * (SELECT n FROM nsvc))::int AS sidx,
           -- Arrivals front-loaded into the morning (about 45 % before 10.00).
           (g.day + time '07:30' + make_interval(secs => 510 * 60 * power(random(), 1.7)))
             AT TIME ZONE :tz AS issued_at,
           120 + 3600 * power(random(), 2) AS wait_s,
           random() AS outcome, random() AS svc_r, random() AS prio_r, random() AS survey_r
    FROM grid g
)
SELECT :base + row_number() OVER (ORDER BY r.day, r.issued_at, r.n) AS tid,
       r.day, svc.id AS service_id, svc.agency_id, svc.prefix,
       row_number() OVER (PARTITION BY r.day, svc.id ORDER BY r.issued_at, r.n) AS seq,
       svc.counters[1 + (r.n % array_length(svc.counters, 1))] AS counter_id, svc.officer,
       r.issued_at,
       r.issued_at + make_interval(secs => r.wait_s) AS called_at,
       r.wait_s::int AS wait_s,
       CASE WHEN r.outcome < 0.88 THEN 'done' WHEN r.outcome < 0.95 THEN 'no_show'
            ELSE 'transferred' END AS outcome,
       (svc.typical_minutes * 60 * (0.5 + r.svc_r))::int AS service_s,
       r.prio_r < 0.08 AS priority, r.survey_r
FROM raw r JOIN svc ON svc.idx = r.sidx;
ANALYZE bench_gen;
"""

TICKETS = """
INSERT INTO ticket (id, site_id, agency_id, service_id, day, seq, number, status, priority,
                    channel, issued_at, sort_at, called_at, first_called_at, started_at,
                    finished_at, call_count, counter_id, officer_id, tracking_code)
SELECT tid, :site, agency_id, service_id, day, seq, prefix || '-' || lpad(seq::text, 3, '0'),
       CASE WHEN fin < :now THEN outcome
            WHEN outcome <> 'no_show' AND called_at + interval '30 seconds' < :now THEN 'serving'
            WHEN called_at < :now THEN 'called' ELSE 'waiting' END,
       CASE WHEN priority THEN 'lansia' END, 'kiosk', issued_at, issued_at,
       CASE WHEN called_at < :now THEN called_at END,
       CASE WHEN called_at < :now THEN called_at END,
       CASE WHEN outcome <> 'no_show' AND called_at + interval '30 seconds' < :now
            THEN called_at + interval '30 seconds' END,
       CASE WHEN fin < :now THEN fin END,
       CASE WHEN called_at < :now THEN 1 ELSE 0 END,
       CASE WHEN called_at < :now THEN counter_id END,
       CASE WHEN called_at < :now THEN officer END,
       'bench' || tid
FROM (SELECT *, CASE outcome
                  WHEN 'no_show' THEN called_at + interval '180 seconds'
                  WHEN 'transferred' THEN called_at + make_interval(secs => 30 + service_s / 2)
                  ELSE called_at + make_interval(secs => 30 + service_s) END AS fin
      FROM bench_gen WHERE issued_at < :now) g;
"""

EVENTS = """
INSERT INTO ticket_event (ticket_id, site_id, agency_id, service_id, counter_id, user_id, type,
                          from_status, to_status, at, day, hour, weekday, priority,
                          duration_seconds)
SELECT tid, :site, agency_id, service_id, cid, uid, typ, frm, tos, at,
       (at AT TIME ZONE :tz)::date, extract(hour FROM at AT TIME ZONE :tz)::int,
       extract(isodow FROM at AT TIME ZONE :tz)::int, priority, dur
FROM bench_gen g, LATERAL (VALUES
    ('issued', NULL::text, 'waiting', g.issued_at, NULL::int, NULL::int, NULL::int),
    ('called', 'waiting', 'called', g.called_at, g.wait_s, g.counter_id, g.officer),
    ('started', 'called', 'serving',
        CASE WHEN g.outcome <> 'no_show' THEN g.called_at + interval '30 seconds' END,
        NULL, g.counter_id, g.officer),
    ('finished', 'serving', 'done',
        CASE WHEN g.outcome = 'done'
             THEN g.called_at + make_interval(secs => 30 + g.service_s) END,
        g.service_s, g.counter_id, g.officer),
    ('no_show', 'called', 'no_show',
        CASE WHEN g.outcome = 'no_show' THEN g.called_at + interval '180 seconds' END,
        NULL, g.counter_id, g.officer),
    ('transferred', 'serving', 'transferred',
        CASE WHEN g.outcome = 'transferred'
             THEN g.called_at + make_interval(secs => 30 + g.service_s / 2) END,
        NULL, g.counter_id, g.officer)
) AS e(typ, frm, tos, at, dur, cid, uid)
WHERE e.at IS NOT NULL AND e.at < :now;
"""

EXTRAS = """
INSERT INTO service_day (service_id, day, last_seq, quota_used)
SELECT service_id, day, max(seq), count(*) FROM bench_gen WHERE issued_at < :now
GROUP BY service_id, day
ON CONFLICT (service_id, day) DO UPDATE SET last_seq = excluded.last_seq,
                                            quota_used = excluded.quota_used;
INSERT INTO survey_response (ticket_id, site_id, agency_id, service_id, counter_id, day,
                             u1, u2, u3, u4, u5, u6, u7, u8, u9, comment, submitted_at)
SELECT tid, :site, agency_id, service_id, counter_id, day,
       3 + (survey_r * 1000)::int % 2, 3 + (survey_r * 2000)::int % 2, 2 + (survey_r * 3000)::int % 3,
       4, 3 + (survey_r * 5000)::int % 2, 3 + (survey_r * 6000)::int % 2,
       3 + (survey_r * 7000)::int % 2, 2 + (survey_r * 8000)::int % 3, 3,
       CASE WHEN survey_r < 0.01 THEN 'Antrean cepat, petugas ramah' END,
       called_at + make_interval(secs => 60 + service_s)
FROM bench_gen
WHERE outcome = 'done' AND survey_r < 0.10
  AND called_at + make_interval(secs => 60 + service_s) < :now;
DROP TABLE bench_gen;
"""


def _run(conn: sa.Connection, sql: str, params: dict[str, Any]) -> None:
    for statement in (s.strip() for s in sql.split(";\n")):
        if statement:
            conn.execute(sa.text(statement), params)


def generate(engine: sa.Engine, site_id: int, first: date, last: date, visitors: int,
             now: datetime) -> tuple[int, int, float]:
    """Bulk-generate [first, last]; returns (tickets, events) added and the seconds taken."""
    t0 = time.perf_counter()
    with engine.begin() as conn:
        before_t = conn.scalar(sa.text("SELECT count(*) FROM ticket"))
        before_e = conn.scalar(sa.text("SELECT count(*) FROM ticket_event"))
        base = conn.scalar(sa.text("SELECT coalesce(max(id), 0) FROM ticket"))
        params = {"site": site_id, "first": first, "last": last, "visitors": visitors,
                  "tz": TZ, "base": int(base) + 1000, "now": now,
                  "seed": 0.42 if first.year % 2 else 0.24}
        _run(conn, GENERATE, params)
        _run(conn, TICKETS, params)
        # Bulk-load practice: build the event indexes once after the insert, not row by row.
        indexes = list(TicketEvent.__table__.indexes)
        for index in indexes:
            index.drop(conn)
        _run(conn, EVENTS, params)
        for index in indexes:
            index.create(conn)
        _run(conn, EXTRAS, params)
        conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('ticket', 'id'), "
                             "(SELECT max(id) FROM ticket))"))
        after_t = conn.scalar(sa.text("SELECT count(*) FROM ticket"))
        after_e = conn.scalar(sa.text("SELECT count(*) FROM ticket_event"))
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("VACUUM ANALYZE"))
    return after_t - before_t, after_e - before_e, time.perf_counter() - t0


def _backend_cpu_ms(pid: int | None) -> float:
    """CPU time a local PostgreSQL backend has used so far (from /proc), in ms."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def timed(fn: Callable[[], Any], runs: int, warmup: int = 2, pid: int | None = None
          ) -> tuple[float, float, float, Any]:
    """(median ms, p90 ms, CPU ms per run (client + database backend), last result).

    The CPU figure does not include time spent waiting for a CPU, so on a busy machine it is
    the better estimate of the latency an idle server would show.
    """
    result = None
    for _ in range(warmup):
        result = fn()
    samples = []
    cpu0, db0 = time.process_time(), _backend_cpu_ms(pid)
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - t0) * 1000)
    cpu = ((time.process_time() - cpu0) * 1000 + _backend_cpu_ms(pid) - db0) / runs
    samples.sort()
    return statistics.median(samples), samples[int(0.9 * (len(samples) - 1))], cpu, result


def explain(engine: sa.Engine, fn: Callable[[Any], Any], factory: Any) -> tuple[int, float, int]:
    """Run fn once, then EXPLAIN (ANALYZE, BUFFERS) each statement it ran.

    Returns (statements, server execution ms, buffers touched): the buffer count does not
    depend on how busy the machine is, so it shows whether the work grows with history.
    """
    captured: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                executemany: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            captured.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        with unit_of_work(factory, write=False) as session:
            fn(session)
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    total_ms = 0.0
    buffers = 0
    with engine.connect() as conn:
        for statement, params in captured:
            plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement,
                                        params).scalar()
            top = plan[0]
            total_ms += float(top["Execution Time"])
            node = top["Plan"]
            buffers += int(node.get("Shared Hit Blocks", 0)) + int(node.get("Shared Read Blocks", 0))
    return len(captured), total_ms, buffers


def measure(factory: Any, now: datetime) -> dict[str, float]:
    with unit_of_work(factory, write=False) as session:
        admin = session.scalar(sa.select(User).where(User.role == "admin").order_by(User.id))
        actor = auth.principal_for_user(admin)
        site = session.scalar(sa.select(Site).order_by(Site.id))
        ctx = Ctx(session=session, now=now, actor=actor)
        today = now.astimezone(ZoneInfo(TZ)).date()

        def dash() -> Any:
            return dashboard.snapshot(session, actor, site, now)

        def month() -> Any:
            scope = stats.build_scope(ctx, start=today - timedelta(days=29), end=today,
                                      site_id=site.id)
            return stats.report(ctx, scope, "service")

        def ikm() -> Any:
            scope = stats.build_scope(ctx, start=today - timedelta(days=89), end=today,
                                      site_id=site.id)
            return survey.ikm_report(ctx, scope)

        conn = session.connection()
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        # All work in this backend, so its CPU time is the whole cost (no parallel workers).
        conn.exec_driver_sql("SET max_parallel_workers_per_gather = 0")
        d_med, d_p90, d_cpu, snap = timed(dash, 100, warmup=10, pid=pid)
        m_med, m_p90, m_cpu, rep = timed(month, 7, pid=pid)
        i_med, i_p90, i_cpu, ik = timed(ikm, 7, pid=pid)
    print(f"    today: waiting {snap['totals']['waiting']}, served {snap['totals']['served']}, "
          f"issued {snap['totals']['issued']}; month: issued {rep['totals']['issued']}, "
          f"served {rep['totals']['served']}; IKM {ik['ikm']} ({ik['mutu']}), "
          f"{ik['respondents']} respondents")
    engine = factory.kw["bind"]

    def dash_fn(session: Any) -> Any:
        admin = session.scalar(sa.select(User).where(User.role == "admin").order_by(User.id))
        site = session.scalar(sa.select(Site).order_by(Site.id))
        return dashboard.snapshot(session, auth.principal_for_user(admin), site, now)

    def month_fn(session: Any) -> Any:
        admin = session.scalar(sa.select(User).where(User.role == "admin").order_by(User.id))
        ctx = Ctx(session=session, now=now, actor=auth.principal_for_user(admin))
        today = now.astimezone(ZoneInfo(TZ)).date()
        scope = stats.build_scope(ctx, start=today - timedelta(days=29), end=today)
        return stats.report(ctx, scope, "service")

    dn, dms, dbuf = explain(engine, dash_fn, factory)
    mn, mms, mbuf = explain(engine, month_fn, factory)
    print(f"    dashboard  median {d_med:7.1f} ms  p90 {d_p90:7.1f} ms  cpu {d_cpu:6.1f} ms  "
          f"[server: {dn} statements, {dms:.1f} ms, {dbuf:,} buffers]")
    print(f"    month rep. median {m_med:7.1f} ms  p90 {m_p90:7.1f} ms  cpu {m_cpu:6.1f} ms  "
          f"[server: {mn} statements, {mms:.1f} ms, {mbuf:,} buffers]")
    print(f"    IKM (90 d) median {i_med:7.1f} ms  p90 {i_p90:7.1f} ms  cpu {i_cpu:6.1f} ms")
    print(f"    load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    return {"dash": d_med, "month": m_med, "ikm": i_med, "dash_buffers": dbuf,
            "dash_server": dms, "dash_cpu": d_cpu, "month_cpu": m_cpu}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--visitors", type=int, default=3000)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument("--database", help="only measure this existing (kept) database")
    args = parser.parse_args()
    admin_url = os.environ.get("MPP_BENCH_DATABASE_URL",
                               "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    if args.database:
        engine = make_engine(admin_url.rsplit("/", 1)[0] + "/" + args.database, pool_size=2,
                             max_overflow=0)
        today = datetime.now(ZoneInfo(TZ)).date()
        now = datetime.combine(today, dtime(11, 0), tzinfo=ZoneInfo(TZ)).astimezone(UTC)
        with engine.connect() as conn:
            print(f"{args.database}: {conn.scalar(sa.text('SELECT count(*) FROM ticket')):,} "
                  f"tickets, {conn.scalar(sa.text('SELECT count(*) FROM ticket_event')):,} events")
        measure(make_session_factory(engine), now)
        engine.dispose()
        return 0
    name = f"mpp_bench_{uuid.uuid4().hex[:8]}"
    libpq = admin_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    print(f"database {name}")
    engine = make_engine(url, pool_size=2, max_overflow=0)
    try:
        upgrade(url)
        from app.services import yamlio
        from app.services.mallfile import load_mall

        doc = yamlio.load((ROOT / "app" / "data" / "demo_mall.yaml").read_text())
        factory = make_session_factory(engine)
        with unit_of_work(factory) as session:
            load_mall(session, doc, always_open=True, passwords={"admin": "bench-rahasia-123"})
        with unit_of_work(factory) as session:
            site_id = session.scalar(sa.select(Site.id).order_by(Site.id))
            # Half the counters are open, as at 11.00 on a working day.
            session.execute(sa.text("UPDATE counter SET is_open = (id % 2 = 0)"))
        today = datetime.now(ZoneInfo(TZ)).date()
        now = datetime.combine(today, dtime(11, 0), tzinfo=ZoneInfo(TZ)).astimezone(UTC)
        results = {}
        for label, first, last in (("1 week", today - timedelta(days=6), today),
                                   ("1 year", today - timedelta(days=364),
                                    today - timedelta(days=7))):
            tickets, events, secs = generate(engine, site_id, first, last, args.visitors, now)
            with engine.connect() as conn:
                total_t = conn.scalar(sa.text("SELECT count(*) FROM ticket"))
                total_e = conn.scalar(sa.text("SELECT count(*) FROM ticket_event"))
            print(f"\n{label}: +{tickets:,} tickets, +{events:,} events in {secs:.1f} s "
                  f"(total {total_t:,} tickets, {total_e:,} events)")
            results[label] = measure(factory, now)
        week, year = results["1 week"], results["1 year"]
        ratio = year["dash"] / week["dash"]
        print("\nsummary")
        print(f"  dashboard: week {week['dash']:.1f} ms, year {year['dash']:.1f} ms "
              f"(x{ratio:.2f}; target < 50 ms and within 20 %: "
              f"{'OK' if year['dash'] < 50 and abs(ratio - 1) <= 0.2 else 'MISSED'})")
        print(f"  dashboard CPU: week {week['dash_cpu']:.1f} ms, year {year['dash_cpu']:.1f} ms;"
              f" buffers: week {week['dash_buffers']:,}, year {year['dash_buffers']:,}")
        print(f"  month report on a year: {year['month']:.1f} ms, CPU {year['month_cpu']:.1f} ms "
              f"(target < 500 ms: {'OK' if year['month'] < 500 else 'MISSED'})")
    finally:
        engine.dispose()
        if not args.keep:
            with psycopg.connect(libpq, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
