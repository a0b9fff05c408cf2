"""Every periodic job of a server process, in one place; the lifespan (app/main.py) starts them
all after the database and the bus are up and cancels them at shutdown.

Each job's work runs in a pool thread inside one unit of work (app/services/unit_of_work.py),
so its events reach the screens after its commit like a request's. The jobs that several
processes run at once claim their rows (end of day, the outbox relay, the webhook fan-out), so
nothing is done twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from app.api import ratelimit
from app.services import booking, endofday, outbox, purge, webhooks
from app.services.config import audit
from app.services.mallfile import SYSTEM
from app.services.unit_of_work import unit_of_work
from app.state import state_of

log = logging.getLogger(__name__)

PURGE_FIRST_DELAY = 600.0  # not at start-up itself: a restart loop must not hammer the database
PURGE_INTERVAL = 24 * 3600.0
HOUSEKEEPING_FIRST_DELAY = 5.0
HOUSEKEEPING_SECONDS = 60.0
GAUGE_REFRESH_SECONDS = 5.0


def _work(app: FastAPI) -> Any:
    state = state_of(app)
    return unit_of_work(state.session_factory, state.bus, now=state.clock(),
                        actor=SYSTEM, metrics=state.metrics)


def purge_once(app: FastAPI) -> purge.PurgeResult:
    """The daily purge of personal fields past the retention period; audited as the system."""
    with _work(app) as ctx:
        days = purge.retention_days(ctx.session, state_of(app).settings.retention_days)
        result = purge.purge(ctx.session, now=ctx.now, days=days)
        if result.total:
            audit(ctx, "purge", "personal_data", None, result.as_dict())
    return result


def housekeeping(app: FastAPI) -> dict[str, int]:
    """Mark booking no-shows and drop old rate-limit windows."""
    with _work(app) as ctx:
        ctx.actor = None
        expired = booking.expire_no_shows(ctx)
        ratelimit.cleanup(ctx.session, ctx.now)
    return {"no_shows": expired}


def refresh_gauges(app: FastAPI) -> None:
    """Each worker copies its bus state into the gauges (a scrape reaches one worker only)."""
    state_of(app).metrics.observe_bus(state_of(app).bus)


@dataclass(frozen=True)
class Every:
    """A job run every `interval` seconds (after `first_delay`), in a pool thread or inline."""

    name: str
    run: Callable[[FastAPI], Any]
    interval: float
    first_delay: float = 0.0
    thread: bool = True

    async def start(self, app: FastAPI) -> asyncio.Task[None]:
        async def loop() -> None:
            await asyncio.sleep(self.first_delay)
            while True:
                try:
                    if self.thread:
                        await asyncio.to_thread(self.run, app)
                    else:
                        self.run(app)
                except Exception:  # a failed run must not stop the next one
                    log.exception("periodic job %s failed", self.name)
                await asyncio.sleep(self.interval)

        return asyncio.create_task(loop(), name=f"mpp-{self.name}")


@dataclass(frozen=True)
class OwnLoop:
    """A job with its own loop (leases, backoff): its starter returns the task."""

    name: str
    start: Callable[[FastAPI], Awaitable[asyncio.Task[Any] | None]]


JOBS: list[Every | OwnLoop] = [
    OwnLoop("end-of-day", endofday.starter),
    OwnLoop("outbox-relay", outbox.starter),
    OwnLoop("webhook-fan-out", webhooks.starter),
    Every("purge", purge_once, PURGE_INTERVAL, PURGE_FIRST_DELAY),
    Every("booking-housekeeping", housekeeping, HOUSEKEEPING_SECONDS, HOUSEKEEPING_FIRST_DELAY),
    Every("metrics-gauges", refresh_gauges, GAUGE_REFRESH_SECONDS, thread=False),
]


async def start_all(app: FastAPI) -> list[asyncio.Task[Any]]:
    started = [await job.start(app) for job in JOBS]
    return [t for t in started if t is not None]


async def stop_all(tasks: list[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
