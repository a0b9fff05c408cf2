"""Open data at scale: the daily file (last 30 days) and the SKM file (a quarter) on 1 week vs
1 year of history of a 3,000-visitor-a-day MPP, generated like bench/stats_scale.py.

The files are aggregates over ticket_event (the (site_id, day, type) index) and
survey_response (its (site_id, day) index): their cost should follow the period asked for,
not the years around it. Prints the median and p90 of 7 runs and the CPU per run (client +
database backend) beside the rows the period holds.

    MPP_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres \\
        python -m bench.open_data_scale [--visitors 3000]
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import uuid
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.db.migrate import upgrade  # noqa: E402
from app.db.models import Site  # noqa: E402
from app.db.session import make_engine, make_session_factory, unit_of_work  # noqa: E402
from app.services import open_data  # noqa: E402
from bench.stats_scale import TZ, generate, timed  # noqa: E402


def measure(factory, site_id: int, now: datetime) -> dict[str, float]:
    out = {}
    with unit_of_work(factory, write=False) as session:
        pid = session.scalar(sa.text("SELECT pg_backend_pid()"))
        daily = open_data.resolve_slice(session, now, site_id=site_id, start=None, end=None,
                                        default="days")
        quarter_end = daily.end
        skm = open_data.resolve_slice(session, now, site_id=site_id,
                                      start=quarter_end - timedelta(days=89), end=quarter_end,
                                      default="quarter")
        med, p90, cpu, rows = timed(lambda: open_data.daily(session, daily), 7, pid=pid)
        print(f"  daily file, 30 days: {len(rows):,} rows, median {med:.1f} ms, p90 {p90:.1f} ms,"
              f" CPU {cpu:.1f} ms")
        out["daily"] = med
        med, p90, cpu, result = timed(lambda: open_data.skm(session, skm), 7, pid=pid)
        respondents = sum(r["respondents"] for r in result["data"])
        print(f"  SKM file, 90 days: {len(result['data'])} agencies, {respondents:,} respondents,"
              f" median {med:.1f} ms, p90 {p90:.1f} ms, CPU {cpu:.1f} ms")
        out["skm"] = med
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--visitors", type=int, default=3000)
    args = parser.parse_args()
    # A stopped run (timeout, Ctrl-C) still drops its database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    admin_url = os.environ.get("MPP_BENCH_DATABASE_URL",
                               "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    name = f"mpp_bench_{uuid.uuid4().hex[:8]}"
    print(f"database {name}")
    libpq = admin_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = admin_url.rsplit("/", 1)[0] + "/" + name
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
        today = datetime.now(ZoneInfo(TZ)).date()
        now = datetime.combine(today, dtime(11, 0), tzinfo=ZoneInfo(TZ)).astimezone(UTC)
        results = {}
        for label, first, last in (("1 week", today - timedelta(days=6), today),
                                   ("1 year", today - timedelta(days=364),
                                    today - timedelta(days=7))):
            tickets, events, secs = generate(engine, site_id, first, last, args.visitors, now)
            print(f"\n{label}: +{tickets:,} tickets, +{events:,} events in {secs:.1f} s")
            results[label] = measure(factory, site_id, now)
        week, year = results["1 week"], results["1 year"]
        print("\nsummary (the year holds ~50x the week's rows; the 30-day file reads the same"
              " 30 days either way)")
        print(f"  daily 30 days: week {week['daily']:.1f} ms, year {year['daily']:.1f} ms")
        print(f"  SKM quarter:   week {week['skm']:.1f} ms, year {year['skm']:.1f} ms")
    finally:
        engine.dispose()
        with psycopg.connect(libpq, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
