"""How long the report page takes to settle, and where the time goes (issue 18).

Loads the demo MPP into a throw-away PostgreSQL database with eight weeks of history (900
tickets a day, bench.stats_scale's generator), starts a real server and measures:
the report API per period (server time), and in Chromium the time from "Tampilkan" to the
drawn report, split into the API call and the drawing. Run by hand:

    MPP_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres \
        python -m bench.report_settle
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import psycopg
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.stats_scale import TZ, generate  # noqa: E402
from tests.support.live import start_server  # noqa: E402

PASSWORD = "demo-rahasia-123"
RUNS = 5


def main() -> int:
    from playwright.sync_api import expect, sync_playwright

    from app.db.migrate import upgrade
    from app.db.models import Site
    from app.db.session import make_engine, make_session_factory, unit_of_work
    from app.services import yamlio
    from app.services.mallfile import load_mall

    admin_url = os.environ.get("MPP_BENCH_DATABASE_URL",
                               "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    libpq = admin_url.replace("postgresql+psycopg://", "postgresql://", 1)
    name = f"mpp_settle_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    server = None
    try:
        upgrade(url)
        doc = yamlio.load((ROOT / "app" / "data" / "demo_mall.yaml").read_text())
        users = [u["username"] for s in doc["sites"] for u in s["users"]]
        engine = make_engine(url, pool_size=2, max_overflow=0)
        factory = make_session_factory(engine)
        with unit_of_work(factory) as session:
            load_mall(session, doc, always_open=True, passwords=dict.fromkeys(users, PASSWORD))
        with unit_of_work(factory) as session:
            site_id = session.scalar(sa.select(Site.id).order_by(Site.id))
        now = datetime.now(UTC)
        today = now.astimezone(ZoneInfo(TZ)).date()
        generate(engine, site_id, today - timedelta(days=55), today, 900, now)
        engine.dispose()
        server = start_server(url)
        t = time.perf_counter()
        token = server.token("manajer", PASSWORD)
        print(f"sign-in alone (argon2 verify): {(time.perf_counter() - t) * 1000:.0f} ms")
        h = {"Authorization": f"Bearer {token}"}
        for period in ("today", "week", "month", "quarter"):
            times = []
            for _ in range(RUNS):
                t = time.perf_counter()
                r = httpx.get(f"{server.url}/api/v1/stats/report", headers=h, timeout=60,
                              params={"site_id": site_id, "period": period, "by": "service"})
                r.raise_for_status()
                times.append(time.perf_counter() - t)
            print(f"report API period={period:8s} median {statistics.median(times)*1000:7.0f} ms"
                  f"  max {max(times)*1000:7.0f} ms")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                        args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="id-ID")
            page.goto(server.url + "/login?next=/dashboard/reports")
            page.fill("input[name=username]", "manajer")
            page.fill("input[name=password]", PASSWORD)
            t = time.perf_counter()
            page.click("button[type=submit]")
            expect(page.locator("body")).to_have_attribute("data-loaded", "1", timeout=60000)
            print(f"sign-in (argon2) + first report page: {time.perf_counter() - t:.2f} s;"
                  f" its report call {page.evaluate('() => window.__reportTiming')}")
            t = time.perf_counter()
            page.reload()
            expect(page.locator("body")).to_have_attribute("data-loaded", "1", timeout=60000)
            print(f"report page load (signed in) -> drawn: {time.perf_counter() - t:.2f} s;"
                  f" {page.evaluate('() => window.__reportTiming')}")
            settle = []
            for _ in range(RUNS):
                page.evaluate("() => { delete document.body.dataset.loaded; }")
                t = time.perf_counter()
                page.click("#rep-form button[type=submit]")
                expect(page.locator("body")).to_have_attribute("data-loaded", "1", timeout=60000)
                settle.append(time.perf_counter() - t)
            timing = page.evaluate("() => window.__reportTiming || null")
            print(f"Tampilkan -> report drawn (month): median {statistics.median(settle):.2f} s,"
                  f" max {max(settle):.2f} s; last split {timing}")
            browser.close()
    finally:
        if server is not None:
            server.stop()
        with psycopg.connect(libpq, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
