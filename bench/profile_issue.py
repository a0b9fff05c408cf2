"""Profile POST /api/v1/tickets in-process with pyinstrument (pip install pyinstrument).

    python bench/profile_issue.py [--backend sqlite|postgresql] [--n 500] [--html out.html]

Builds the load mall of bench/issue_and_call.py in a fresh database, warms up, then profiles
`--n` sequential issues through the full ASGI stack (middleware, auth, unit of work, service).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from pyinstrument import Profiler  # noqa: E402

from app.config import Settings  # noqa: E402
from app.main import create_app  # noqa: E402
from tests.integration.loadmall import build_load_mall  # noqa: E402
from tests.support.live import prepare_database  # noqa: E402


async def run(url: str, n: int, html: str | None) -> None:
    prepare_database(url)
    mall = build_load_mall(url, counters=2, kiosks=1)
    app = create_app(Settings(database_url=url, env="test", bus="memory", log_level="WARNING",
                              secret_key="profile-secret-key-0123456789-0123456789"))
    headers = {"Authorization": f"Bearer {mall.kiosk_tokens[0]}"}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:

            async def issue(i: int) -> None:
                r = await client.post("/api/v1/tickets", headers={
                    **headers, "Idempotency-Key": uuid.uuid4().hex},
                    json={"service_id": mall.service_ids[i % 4]})
                assert r.status_code == 201, r.text

            for i in range(50):
                await issue(i)
            profiler = Profiler(interval=0.0005, async_mode="enabled")
            t0 = time.perf_counter()
            profiler.start()
            for i in range(n):
                await issue(i)
            profiler.stop()
            elapsed = time.perf_counter() - t0
    print(f"{n} issues in {elapsed:.2f} s: {1000 * elapsed / n:.2f} ms each (with profiler)")
    print(profiler.output_text(unicode=False, color=False, show_all=False))
    if html:
        Path(html).write_text(profiler.output_html())


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--backend", default="sqlite", choices=["sqlite", "postgresql"])
    p.add_argument("--n", type=int, default=500)
    p.add_argument("--html")
    args = p.parse_args()
    if args.backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(run(f"sqlite:///{tmp}/profile.db", args.n, args.html))
    else:
        from bench.issue_and_call import create_pg_database, drop_pg_database, pg_url

        name = create_pg_database()
        try:
            asyncio.run(run(pg_url(name), args.n, args.html))
        finally:
            drop_pg_database(name)


if __name__ == "__main__":
    main()
