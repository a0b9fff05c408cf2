"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    state = request.app.state

    def ping() -> bool:
        try:
            with state.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 - any failure means not ready
            return False

    db_ok = await run_in_threadpool(ping)
    bus_ok = state.bus.healthy
    ok = db_ok and bus_ok
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "database": db_ok, "bus": bus_ok,
         "bus_backend": state.bus.name},
        status_code=200 if ok else 503,
    )


@router.get("/metrics")
def metrics(request: Request) -> Response:
    m = request.app.state.metrics
    m.bus_lag.set(request.app.state.bus.last_lag_seconds)
    return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)
