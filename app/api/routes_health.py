"""Liveness, readiness and Prometheus metrics.

- `/healthz`: the process answers (no database involved: a load balancer must not restart every
  worker because the database blinked).
- `/readyz`: the database answers `SELECT 1` and the event bus is connected; 503 otherwise, so a
  load balancer stops sending traffic to this worker until it recovers.
- `/metrics`: Prometheus text format; with several workers, the sum over all of them (see
  app/metrics.py).
"""

from __future__ import annotations

import asyncio
import logging
import time

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from app.state import state_of

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)
# A readiness probe must answer quickly even when the database hangs.
DB_TIMEOUT_SECONDS = 2.0


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    state = state_of(request.app)

    def ping() -> bool:
        # Through the session factory: the same path (and pool) as real requests take.
        try:
            with state.session_factory() as session:
                session.execute(sa.text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 - any failure means not ready
            return False

    start = time.perf_counter()
    try:
        db_ok = await asyncio.wait_for(run_in_threadpool(ping), DB_TIMEOUT_SECONDS)
    except TimeoutError:
        db_ok = False
    db_ms = round((time.perf_counter() - start) * 1000, 1)
    bus_ok = bool(state.bus.healthy)
    ok = db_ok and bus_ok
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "database": db_ok, "bus": bus_ok,
         "bus_backend": state.bus.name, "database_ms": db_ms},
        status_code=200 if ok else 503,
        headers=None if ok else {"Retry-After": "2"},
    )


@router.get("/metrics")
def metrics(request: Request) -> Response:
    m = state_of(request.app).metrics
    m.observe_bus(state_of(request.app).bus)
    return Response(generate_latest(m.exposition_registry()), media_type=CONTENT_TYPE_LATEST)
