"""Profile POST call-next + start in-process with pyinstrument (pip install pyinstrument).

    python bench/profile_call.py [--backend sqlite|postgresql] [--n 300] [--waiting 2000]

Builds the load mall of bench/issue_and_call.py in a fresh database, leaves `--waiting` tickets
waiting (the benchmark's issue phase leaves thousands), warms up, then profiles `--n` rounds of
call-next + start on one counter through the full ASGI stack (each call-next also finishes the
ticket served before, as in the benchmark's call phase).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from pyinstrument import Profiler  # noqa: E402

from app.config import Settings  # noqa: E402
from app.main import create_app  # noqa: E402
from tests.integration.loadmall import OFFICER_PASSWORD, build_load_mall, seed_waiting  # noqa: E402
from tests.support.live import prepare_database  # noqa: E402


async def run(url: str, n: int, waiting: int, html: str | None, inline: bool,
              profile: bool = True, reference: bool = False) -> None:
    prepare_database(url)
    mall = build_load_mall(url, counters=2, kiosks=1)
    seed_waiting(url, mall.service_ids, waiting)
    if inline:
        # pyinstrument samples the thread it started on: run the pool-thread work inline, so
        # the profile shows it (sequential requests, so nothing else waits for the loop).
        import app.api.deps as deps

        async def run_inline(fn, *args, **kw):  # type: ignore[no-untyped-def]
            return fn(*args)

        deps.anyio.to_thread.run_sync = run_inline  # type: ignore[assignment]
    app = create_app(Settings(database_url=url, env="test", bus="memory", log_level="WARNING",
                              secret_key="profile-secret-key-0123456789-0123456789",
                              **({"db_async_pool_size": 0} if reference else {})))
    async with app.router.lifespan_context(app):
        if app.state.kiosk_pool is not None:
            await app.state.kiosk_pool.wait()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            r = await client.post("/api/v1/auth/token", data={
                "username": mall.officers[0], "password": OFFICER_PASSWORD})
            headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
            counter = mall.counter_ids[0]
            r = await client.post(f"/api/v1/counters/{counter}/open", headers=headers)
            assert r.status_code == 200, r.text

            async def pair() -> None:
                r = await client.post(f"/api/v1/counters/{counter}/call-next", headers=headers)
                assert r.status_code == 200, r.text
                r = await client.post(f"/api/v1/tickets/{r.json()['id']}/start",
                                      headers=headers)
                assert r.status_code == 200, r.text

            for _ in range(30):
                await pair()
            profiler = Profiler(interval=0.0005, async_mode="enabled")
            t0, c0 = time.perf_counter(), time.process_time()
            if profile:
                profiler.start()
            for _ in range(n):
                await pair()
            if profile:
                profiler.stop()
            elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"{n} call-next + start pairs in {elapsed:.2f} s: {1000 * elapsed / n:.2f} ms each, "
          f"{1000 * cpu / n:.2f} ms of this process's CPU "
          f"({'with' if profile else 'without'} profiler)")
    if not profile:
        return
    print(profiler.output_text(unicode=False, color=False, show_all=False))
    if html:
        Path(html).write_text(profiler.output_html())


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--backend", default="postgresql", choices=["sqlite", "postgresql"])
    p.add_argument("--n", type=int, default=300)
    p.add_argument("--waiting", type=int, default=2000)
    p.add_argument("--html")
    p.add_argument("--reference", action="store_true",
                   help="no asyncio pool: every request takes the reference (ORM) path")
    p.add_argument("--no-profile", action="store_true",
                   help="only time the pairs (CPU per pair without the profiler's cost)")
    p.add_argument("--threads", action="store_true",
                   help="keep the pool threads (the profile then misses their work)")
    args = p.parse_args()
    if args.backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(run(f"sqlite:///{tmp}/profile.db", args.n, args.waiting, args.html,
                              not args.threads, not args.no_profile, args.reference))
    else:
        from bench.issue_and_call import create_pg_database, drop_pg_database, pg_url

        name = create_pg_database()
        try:
            asyncio.run(run(pg_url(name), args.n, args.waiting, args.html,
                              not args.threads, not args.no_profile, args.reference))
        finally:
            drop_pg_database(name)


if __name__ == "__main__":
    main()
