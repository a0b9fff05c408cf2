"""README screenshots of the dashboard, a month report and the IKM report with real-looking data.

Loads the demo MPP into a throw-away PostgreSQL database, generates eight weeks of history up to
the current moment with bench.stats_scale's bulk generator, starts a real server and saves
docs/screenshots/{dashboard,report,ikm}.png. Not a test; run it by hand:

    MPP_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres \
        python -m bench.stats_screenshots
"""

from __future__ import annotations

import os
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.stats_scale import TZ, generate  # noqa: E402
from tests.support.live import start_server  # noqa: E402

PASSWORD = "demo-rahasia-123"
OUT = ROOT / "docs" / "screenshots"


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
    name = f"mpp_shots_{uuid.uuid4().hex[:8]}"
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
            session.execute(sa.text("UPDATE counter SET is_open = (id % 3 <> 0)"))
        now = datetime.now(UTC)
        today = now.astimezone(ZoneInfo(TZ)).date()
        generate(engine, site_id, today - timedelta(days=55), today, 900, now)
        engine.dispose()
        server = start_server(url)
        OUT.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                        args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="id-ID")
            page.goto(server.url + "/login?next=/dashboard")
            page.fill("input[name=username]", "manajer")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            expect(page.locator("#conn")).to_have_attribute("data-state", "connected")
            page.wait_for_timeout(500)
            page.screenshot(path=str(OUT / "dashboard.png"))
            page.goto(server.url + "/dashboard/reports")
            expect(page.locator("body")).to_have_attribute("data-loaded", "1", timeout=30000)
            page.select_option("#f-by", "agency")
            page.click("#rep-form button[type=submit]")
            page.wait_for_timeout(1500)
            page.screenshot(path=str(OUT / "report.png"), full_page=True)
            page.goto(server.url + "/dashboard/ikm?period=quarter")
            page.screenshot(path=str(OUT / "ikm.png"))
            browser.close()
        print("saved", ", ".join(str(OUT / f"{n}.png") for n in ("dashboard", "report", "ikm")))
    finally:
        if server is not None:
            server.stop()
        with psycopg.connect(libpq, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
