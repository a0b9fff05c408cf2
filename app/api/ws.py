"""Websockets: a snapshot on connect, then events, a fresh snapshot whenever events were lost.

No database session lives as long as a socket: each snapshot opens and closes its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool

from app.api import ws_fanout
from app.api.schemas import ID_MAX, parse_id
from app.bus import SubscriberOverflow
from app.db.models import Site
from app.db.session import unit_of_work
from app.domain import events as ev
from app.domain.errors import DomainError
from app.domain.events import Event
from app.services import counter_view, principal, snapshots, tickets
from app.services.context import Principal
from app.services.policy import agency_ids_in_scope
from app.state import state_of

router = APIRouter()
# A screen that cannot take 500 events in its queue is too slow; it is dropped and reconnects.
QUEUE_SIZE = 500
PING_SECONDS = 20.0
# A client whose socket takes longer than this to accept one message is dead or too slow:
# it is closed so its task and buffers go away (the others never wait for it either way).
SEND_TIMEOUT = 5.0

Snapshot = Callable[[], dict[str, Any] | str]
Accept = Callable[[Event], bool]
# How an accepted event reaches this kind of screen (e.g. with fresh waiting counts added).
Render = Callable[[Event], Awaitable[str]]

_texts: dict[int, tuple[Event, str]] = {}


def event_text(event: Event) -> str:
    """The event's JSON, encoded once per process however many screens receive it."""
    hit = _texts.get(id(event))
    if hit is not None and hit[0] is event:
        return hit[1]
    text = json.dumps(event.message(), separators=(",", ":"), default=str)
    if len(_texts) >= 256:
        _texts.clear()
    # The entry keeps the event alive, so its id cannot be reused while cached.
    _texts[id(event)] = (event, text)
    return text


async def _send(ws: WebSocket, message: dict[str, Any] | str) -> None:
    # asyncio.timeout, not wait_for: no extra task per message when a thousand boards listen.
    async with asyncio.timeout(SEND_TIMEOUT):
        if isinstance(message, str):
            await ws.send_text(message)
        else:
            await ws.send_json(message)


def _read(ws: WebSocket, fn: Callable[[Any], Any]) -> Any:
    """Run fn(session) in a short read-only transaction."""

    def run() -> Any:
        with unit_of_work(state_of(ws.app).session_factory, write=False) as session:
            return fn(session)

    return run_in_threadpool(run)


async def serve_events(ws: WebSocket, kind: str, snapshot: Snapshot, accept: Accept,
                       resnapshot_on: frozenset[str] = frozenset(),
                       render: Render | None = None) -> None:
    """Send a snapshot, then matching events, until the client leaves or falls behind."""
    state = state_of(ws.app)
    bus = state.bus
    sub = bus.subscribe(QUEUE_SIZE)
    gauge = state.metrics.ws_clients.labels(kind)
    gauge.inc()
    try:
        await _send(ws, await run_in_threadpool(snapshot))
        while True:
            try:
                async with asyncio.timeout(PING_SECONDS):
                    event = await sub.get()
            except TimeoutError:
                await _send(ws, {"type": "ping"})
                continue
            if event.type == ev.RESYNC or (event.type in resnapshot_on and accept(event)):
                await _send(ws, await run_in_threadpool(snapshot))
                continue
            if accept(event):
                await _send(ws, event_text(event) if render is None else await render(event))
    except (SubscriberOverflow, TimeoutError):
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.close(code=1013, reason="too slow"), 1.0)
    except DomainError as exc:
        # E.g. the board was removed or its device token revoked while it was connected.
        with contextlib.suppress(Exception):
            await _send(ws, {"type": "error",
                             "error": {"code": exc.code, "message": exc.message()}})
            await asyncio.wait_for(ws.close(code=1008), 1.0)
    except OperationalError:
        # A snapshot could not be read (database away): the client reconnects and retries.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.close(code=1013, reason="database unavailable"), 1.0)
    except (WebSocketDisconnect, RuntimeError, ConnectionError):
        pass
    finally:
        sub.close()
        gauge.dec()
        state.metrics.bus_dropped.set(bus.dropped)


def _int(value: str | None) -> int | None:
    return parse_id(value)


async def _refuse(ws: WebSocket, code: str, message: str, close_code: int = 1008) -> None:
    await ws.accept()
    await ws.send_json({"type": "error", "error": {"code": code, "message": message}})
    await ws.close(code=close_code)


async def _check_or_refuse(ws: WebSocket, setup: Callable[[Any], tuple[Any, ...]]
                           ) -> tuple[Any, ...] | None:
    """Run a socket's access check (its last value names a problem); refuse it on any failure."""
    try:
        result = await _read(ws, setup)
    except DomainError as exc:
        await _refuse(ws, exc.code, exc.message())
        return None
    except OperationalError:
        # The database is away (restart, failover): "try again later", never a 500.
        await _refuse(ws, "database_unavailable", DomainError("database_unavailable").message(),
                      close_code=1013)
        return None
    problem = result[-1]
    if problem:
        await _refuse(ws, problem, DomainError(problem).message())
        return None
    return tuple(result)


def ws_principal(ws: WebSocket, session: Any) -> Principal | None:
    """`?token=` (API clients, display devices) or the staff session cookie; None if neither."""
    state = state_of(ws.app)
    try:
        return principal.resolve(session, tokens=state.token_signer,
                                 sessions=state.session_signer,
                                 bearer=ws.query_params.get("token"),
                                 cookie=ws.cookies.get("mpp_session")).principal
    except DomainError:
        return None


def _display_problem(ws: WebSocket, session: Any, site: Site) -> str | None:
    """Why this screen may not show the site, when the site requires display device tokens."""
    if not site.require_display_token:
        return None
    principal = ws_principal(ws, session)
    if principal is None or principal.role not in ("display", "admin", "manager"):
        return "not_authenticated"
    if principal.site_id not in (None, site.id):
        return "forbidden"
    return None


def _changes_waiting(e: Event) -> bool:
    d = e.data
    if e.type in (ev.TICKET_ISSUED, ev.TICKET_TRANSFERRED, ev.VISIT_STEP_CHANGED):
        return True
    if e.type == ev.TICKET_CALLED:
        return not d.get("recall")
    return e.type == ev.TICKET_STATUS and "waiting" in (d.get("from"), d.get("status"))


def _display_accept(flt: snapshots.BoardFilter) -> Accept:
    def accept(e: Event) -> bool:
        if e.type == ev.CONFIG_CHANGED:
            return e.site_id == flt.site_id
        return flt.matches(e.site_id, e.data)

    return accept


def _display_render(app: Any, flt: snapshots.BoardFilter) -> ws_fanout.Render:
    """Events as boards with this filter get them: the last one that changes a waiting count
    carries the counts of the services they show, read after it committed. One query and one
    encoding per batch of events per filter; the counts ride along instead of following in a
    second message."""

    def read(message: dict[str, Any]) -> str:
        with unit_of_work(state_of(app).session_factory, write=False) as session:
            counts = snapshots.waiting_now(session, flt, state_of(app).clock())
        return json.dumps({**message, "waiting_counts": counts},
                          separators=(",", ":"), default=str)

    async def render(events: list[Event]) -> list[str]:
        texts = [event_text(e) for e in events]
        last = next((i for i in range(len(events) - 1, -1, -1)
                     if _changes_waiting(events[i])), None)
        # Counts are a nicety: on a database error the event goes without them, and the next
        # snapshot corrects them.
        with contextlib.suppress(Exception):
            if last is not None:
                texts[last] = await run_in_threadpool(read, events[last].message())
        return texts

    return render


class _SharedSnapshots:
    """Boards with the same view share one snapshot while no event has arrived since.

    After a server restart every board reconnects within seconds; without this each one would
    run the same queries. A snapshot is reused only if the bus delivered nothing since it was
    taken (so it cannot predate an event a new subscriber missed) and for at most MAX_AGE.
    """

    MAX_AGE = 2.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._locks: dict[Any, threading.Lock] = {}
        self._hits: dict[Any, tuple[int, float, str]] = {}

    def get(self, key: Any, bus: Any, make: Callable[[], dict[str, Any]]) -> str:
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # one computes, the others wait and reuse
            hit = self._hits.get(key)
            if (hit is not None and hit[0] == bus.delivered
                    and time.monotonic() - hit[1] < self.MAX_AGE):
                return hit[2]
            seen = bus.delivered
            text = json.dumps(make(), separators=(",", ":"), default=str)
            with self._lock:
                if len(self._hits) > 1024:
                    self._hits.clear()
                self._hits[key] = (seen, time.monotonic(), text)
            return text


_shared_snapshots = _SharedSnapshots()


@router.websocket("/ws/display")
async def ws_display(ws: WebSocket) -> None:
    q = ws.query_params
    now = state_of(ws.app).clock

    def setup(session: Any) -> tuple[snapshots.BoardFilter, Any, str | None]:
        flt, board = snapshots.board_filter(
            session, site_id=_int(q.get("site_id")), zone=q.get("zone") or None,
            agency_id=_int(q.get("agency_id")), board_id=_int(q.get("board")))
        site = session.get(Site, flt.site_id)
        return flt, board, _display_problem(ws, session, site)

    checked = await _check_or_refuse(ws, setup)
    if checked is None:
        return
    flt, _board, _ = checked
    await ws.accept()
    current = [flt]
    fresh = [True]

    def snap() -> str:
        # Each later snapshot re-reads the board's configuration and the device token, so an
        # edited board shows its new filter and a revoked token is cut off at the next one.
        if not fresh[0]:
            with unit_of_work(state_of(ws.app).session_factory, write=False) as session:
                flt, board, problem = setup(session)
                if problem:
                    raise DomainError(problem)
                current[0] = flt
        fresh[0] = False
        flt = current[0]
        board_id = _int(q.get("board"))

        def make() -> dict[str, Any]:
            with unit_of_work(state_of(ws.app).session_factory, write=False) as session:
                board = snapshots.board_filter(
                    session, site_id=None, zone=None, agency_id=None, board_id=board_id
                )[1] if board_id is not None else None
                return snapshots.display_snapshot(session, flt, now(), board)

        key = (id(ws.app), flt, board_id, now().date())
        return _shared_snapshots.get(key, state_of(ws.app).bus, make)

    await _serve_board(ws, snap, current)


async def _serve_board(ws: WebSocket, snapshot: Callable[[], str],
                       current: list[snapshots.BoardFilter]) -> None:
    """A board's own task: its snapshots, pings and end; its group sends it the events."""
    state = state_of(ws.app)
    hub = ws_fanout.hub_for(ws.app)
    member = ws_fanout.Member(ws)
    resnap = frozenset({ev.CONFIG_CHANGED, ev.COUNTER_CHANGED})

    def join() -> ws_fanout.Group:
        flt = current[0]
        return hub.join(member, flt, _display_accept(flt), _display_render(ws.app, flt), resnap)

    group = join()  # before the snapshot: nothing between the two is lost
    gauge = state.metrics.ws_clients.labels("display")
    gauge.inc()

    async def send_snapshot() -> None:
        nonlocal group
        member.ready = False
        text = await run_in_threadpool(snapshot)
        if current[0] != group.key:  # the board's configuration changed: move it
            hub.leave(member, group)
            member.pending.clear()
            group = join()
        await _send(ws, text)
        while member.pending:
            await _send(ws, member.pending.pop(0))
        member.ready = True

    try:
        await send_snapshot()
        while True:
            try:
                async with asyncio.timeout(PING_SECONDS):
                    kind, text = await member.control.get()
            except TimeoutError:
                await _send(ws, {"type": "ping"})
                continue
            if kind == "snapshot":
                member.snapshot_due = False
                await send_snapshot()
            elif kind == "send":
                await _send(ws, text)
            else:
                await ws_fanout.close_quietly(ws, 1013, text)
                return
    except TimeoutError:
        await ws_fanout.close_quietly(ws, 1013, "too slow")
    except DomainError as exc:
        # E.g. the board was removed or its device token revoked while it was connected.
        with contextlib.suppress(Exception):
            await _send(ws, {"type": "error",
                             "error": {"code": exc.code, "message": exc.message()}})
            await asyncio.wait_for(ws.close(code=1008), 1.0)
    except OperationalError:
        # A snapshot could not be read (database away): the client reconnects and retries.
        await ws_fanout.close_quietly(ws, 1013, "database unavailable")
    except (WebSocketDisconnect, RuntimeError, ConnectionError):
        pass
    finally:
        member.dead = True
        hub.leave(member, group)
        gauge.dec()
        state.metrics.bus_dropped.set(state.bus.dropped)


@router.websocket("/ws/counter/{counter_id}")
async def ws_counter(ws: WebSocket, counter_id: int) -> None:
    now = state_of(ws.app).clock

    viewer: list[int | None] = [None]

    def setup(session: Any) -> tuple[int, set[int], str | None]:
        if not 1 <= counter_id <= ID_MAX:
            return 0, set(), "not_found"
        principal = ws_principal(ws, session)
        if principal is None:
            return 0, set(), "not_authenticated"
        viewer[0] = principal.user_id
        counter = tickets.get_counter(session, counter_id)
        scope = agency_ids_in_scope(session, principal)
        if principal.role not in ("admin", "manager", "officer") or (
            scope is not None and counter.agency_id not in scope
        ):
            return 0, set(), "forbidden"
        return counter.agency.site_id, {s.id for s in counter.services}, None

    checked = await _check_or_refuse(ws, setup)
    if checked is None:
        return
    site_id, service_ids, _ = checked
    await ws.accept()

    def snap() -> dict[str, Any]:
        with unit_of_work(state_of(ws.app).session_factory, write=False) as session:
            # The viewer is checked again before every snapshot: a signed-out or deactivated
            # officer's console stops at the next change (at once after SESSION_ENDED).
            problem = setup(session)[-1]
            if problem:
                raise DomainError(problem)
            counter = tickets.get_counter(session, counter_id)
            return counter_view.counter_snapshot(session, counter, now())

    def accept(e: Event) -> bool:
        if e.type == ev.SESSION_ENDED:
            return e.data.get("user_id") == viewer[0]
        if e.site_id != site_id:
            return False
        if e.type == ev.CONFIG_CHANGED:
            return True
        d = e.data
        return (d.get("service_id") in service_ids or d.get("to_service_id") in service_ids
                or d.get("counter_id") == counter_id)

    # The console re-reads its whole view on any relevant change: it is small and always exact.
    await serve_events(ws, "counter", snap, accept, resnapshot_on=frozenset({
        ev.TICKET_ISSUED, ev.TICKET_CALLED, ev.TICKET_STATUS, ev.TICKET_TRANSFERRED,
        ev.VISIT_STEP_CHANGED,
        ev.COUNTER_CHANGED, ev.CONFIG_CHANGED, ev.SESSION_ENDED}))


def dumps(obj: Any) -> str:
    return json.dumps(obj, default=str)
