"""WS /ws/dashboard: the manager's live board.

A snapshot on connect; afterwards every relevant event marks the board stale and a fresh
snapshot is computed at most once per THROTTLE_SECONDS per client (the first change after a
quiet spell goes out at once, a burst is coalesced into one trailing snapshot). Snapshots, not
raw events, because the board shows aggregates. serve_events in app.api.ws sends one snapshot
per event, which is right for a small counter console but not for a busy mall's dashboard.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from app.api.schemas import parse_id
from app.api.ws import ws_principal
from app.bus import SubscriberOverflow
from app.db.session import unit_of_work
from app.domain import events as ev
from app.domain.errors import DomainError
from app.domain.events import Event
from app.services import dashboard
from app.services.context import Principal
from app.services.policy import agency_ids_in_scope
from app.state import state_of

router = APIRouter()
THROTTLE_SECONDS = 1.0
PING_SECONDS = 20.0
QUEUE_SIZE = 500
SEND_TIMEOUT = 5.0
RELEVANT = frozenset({ev.TICKET_ISSUED, ev.TICKET_CALLED, ev.TICKET_STATUS,
                      ev.TICKET_TRANSFERRED, ev.VISIT_STEP_CHANGED, ev.COUNTER_CHANGED,
                      ev.CONFIG_CHANGED, ev.RESYNC})


async def _refuse(ws: WebSocket, code: str) -> None:
    await ws.accept()
    await ws.send_json({"type": "error", "error": {"code": code,
                                                   "message": DomainError(code).message()}})
    await ws.close(code=1008)


@router.websocket("/ws/dashboard")
async def ws_dashboard(ws: WebSocket) -> None:
    state = state_of(ws.app)
    raw_site = ws.query_params.get("site_id")

    def setup() -> tuple[Principal | None, int, set[int] | None, str | None]:
        with unit_of_work(state.session_factory, write=False) as session:
            actor = ws_principal(ws, session)
            if actor is None:
                return None, 0, None, "not_authenticated"
            if actor.role not in ("admin", "manager"):
                return actor, 0, None, "forbidden"
            try:
                site_id = parse_id(raw_site, "site_id")
            except DomainError:
                return actor, 0, None, "validation_error"
            site = dashboard.resolve_site(session, actor, site_id)
            return actor, site.id, agency_ids_in_scope(session, actor), None

    try:
        actor, site_id, scope, problem = await run_in_threadpool(setup)
    except DomainError as exc:
        await _refuse(ws, exc.code)
        return
    if problem or actor is None:
        await _refuse(ws, problem or "not_authenticated")
        return
    await ws.accept()

    def snap() -> dict[str, Any]:
        with unit_of_work(state.session_factory, write=False) as session:
            # Checked again before every snapshot: a signed-out manager's board stops.
            if ws_principal(ws, session) != actor:
                raise DomainError("not_authenticated")
            site = dashboard.resolve_site(session, actor, site_id)
            return dashboard.snapshot(session, actor, site, state.clock())

    def relevant(e: Event) -> bool:
        if e.type == ev.RESYNC:
            return True
        if e.type == ev.SESSION_ENDED:
            return e.data.get("user_id") == actor.user_id
        if e.type not in RELEVANT or e.site_id != site_id:
            return False
        if scope is None:
            return True
        return bool({e.data.get("agency_id"), e.data.get("to_agency_id")} & scope)

    await serve_throttled(ws, snap, relevant)


async def serve_throttled(ws: WebSocket, snapshot: Any, relevant: Any,
                          interval: float = THROTTLE_SECONDS) -> None:
    """Send snapshots on change, at most one per `interval`, until the client leaves."""
    state = state_of(ws.app)
    bus = state.bus
    sub = bus.subscribe(QUEUE_SIZE)
    gauge = state.metrics.ws_clients.labels("dashboard")
    gauge.inc()

    async def send(message: dict[str, Any]) -> None:
        await asyncio.wait_for(ws.send_json(message), SEND_TIMEOUT)

    try:
        await send(await run_in_threadpool(snapshot))
        last = time.monotonic()
        stale = False
        while True:
            wait = PING_SECONDS if not stale else max(0.0, last + interval - time.monotonic())
            try:
                event = await asyncio.wait_for(sub.get(), timeout=wait)
            except TimeoutError:
                if stale:
                    await send(await run_in_threadpool(snapshot))
                    last, stale = time.monotonic(), False
                else:
                    await send({"type": "ping"})
                continue
            if not relevant(event):
                continue
            if not stale and time.monotonic() - last >= interval:
                await send(await run_in_threadpool(snapshot))
                last = time.monotonic()
            else:
                stale = True
    except SubscriberOverflow:
        with contextlib.suppress(Exception):
            await ws.close(code=1013, reason="too slow")
    except DomainError as exc:
        with contextlib.suppress(Exception):
            await send({"type": "error", "error": {"code": exc.code, "message": exc.message()}})
            await asyncio.wait_for(ws.close(code=1008), 1.0)
    except (WebSocketDisconnect, RuntimeError, ConnectionError, TimeoutError):
        pass
    finally:
        sub.close()
        gauge.dec()
