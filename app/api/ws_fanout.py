"""Board fan-out: one bus subscription per board filter, each event encoded once per filter.

A thousand boards showing the same part of the mall get the same bytes. Instead of waking a
task per board that encodes and frames the event again, one task per filter renders the event
once, frames it once (websockets' own Frame), and writes the frame to each board's transport.
Each board keeps its own task for what is really its own: the snapshot on connect and after
a resync, pings, and closing. A board whose socket stops draining is closed ("too slow"), as
before, so it never holds up the others.

The frame goes straight to the transport only when uvicorn's websockets protocol is under the
ASGI app (WebSocketTransportMiddleware records it) and no extension (compression) was
negotiated; otherwise the board's task sends the shared text through the normal path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from app.bus import SubscriberOverflow
from app.domain import events as ev
from app.domain.events import Event
from app.state import state_of

log = logging.getLogger(__name__)

# Bytes a board may have unsent in its transport before it counts as too slow.
MAX_BUFFER = 256 * 1024
# Events a board may miss while its snapshot is being read; more and it starts over.
MAX_PENDING = 500
GROUP_QUEUE = 2000

Accept = Callable[[Event], bool]
# Renders a batch of events at once: what costs a query (waiting counts) is read once for
# the batch, so a group that fell behind catches up instead of falling further behind.
Render = Callable[[list[Event]], Awaitable[list[str]]]
# Events taken as one batch at most.
MAX_BATCH = 200


class WebSocketTransportMiddleware:
    """Outermost ASGI middleware: keep the server's websocket protocol object in the scope.

    uvicorn's websockets protocol is the object behind the `send` it hands the app; the board
    fan-out writes a shared frame to its transport. Anything else leaves the scope unchanged.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            proto = getattr(send, "__self__", None)
            if proto is not None:
                scope.setdefault("state", {})["ws_protocol"] = proto
        await self.app(scope, receive, send)


def _raw_target(ws: Any) -> tuple[Any, Any] | None:
    """(protocol, transport) when frames may be written to the socket directly."""
    proto = ws.scope.get("state", {}).get("ws_protocol")
    conn = getattr(proto, "conn", None)
    transport = getattr(proto, "transport", None)
    if conn is None or transport is None or getattr(conn, "extensions", None):
        return None
    try:
        from websockets.protocol import State
    except ImportError:  # pragma: no cover - websockets is a dependency
        return None
    if getattr(conn, "state", None) is not State.OPEN:
        return None
    return proto, transport


def frame_bytes(text: str) -> bytes:
    """One unmasked, uncompressed text frame, as a server sends it."""
    from websockets.frames import Frame, Opcode

    return Frame(Opcode.TEXT, text.encode()).serialize(mask=False)


class Member:
    """One board in a group: its socket and what its own task must do next."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.raw = _raw_target(ws)
        self.ready = False           # its snapshot is out: events may follow
        self.pending: list[str] = []  # events that arrived while its snapshot was read
        self.control: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        self.dead = False
        self.snapshot_due = False

    def request_snapshot(self) -> None:
        # Several resync requests before the board's task gets to them need one snapshot.
        if not self.snapshot_due:
            self.snapshot_due = True
            self.control.put_nowait(("snapshot", ""))

    def kill(self, reason: str) -> None:
        if not self.dead:
            self.dead = True
            self.control.put_nowait(("close", reason))

    def deliver(self, texts: list[str], frames: bytes) -> None:
        """The batch's messages in order; `frames` is all of them framed, end to end."""
        if self.dead:
            return
        if not self.ready:
            self.pending.extend(texts)
            if len(self.pending) > MAX_PENDING:
                self.kill("too slow")
            return
        if self.raw is None:
            for text in texts:
                self.control.put_nowait(("send", text))
            return
        proto, transport = self.raw
        if transport.is_closing() or getattr(proto, "close_sent", False):
            self.kill("gone")
            return
        if transport.get_write_buffer_size() > MAX_BUFFER:
            self.kill("too slow")
            return
        # One write per board per batch: a call's finish and call events leave in one
        # syscall instead of two (frames end to end are still separate messages).
        transport.write(frames)


class Group:
    """Boards with one filter: one subscription, one task, one encoding per event."""

    def __init__(self, hub: FanoutHub, key: Hashable, accept: Accept, render: Render,
                 resnapshot_on: frozenset[str]) -> None:
        self.hub = hub
        self.key = key
        self.accept = accept
        self.render = render
        self.resnapshot_on = resnapshot_on
        self.members: set[Member] = set()
        self.sub = hub.bus.subscribe(GROUP_QUEUE)
        self.task = asyncio.get_running_loop().create_task(self._run(), name=f"fanout-{key}")
        self.encoded = 0  # events encoded (once each, however many boards)

    def resnapshot_all(self) -> None:
        for m in list(self.members):
            m.request_snapshot()

    async def _run(self) -> None:
        while True:
            try:
                batch = [await self.sub.get()]
                batch += self.sub.drain(MAX_BATCH - 1)
            except SubscriberOverflow:
                # The group itself fell behind: every board starts over from a snapshot.
                self.sub.close()
                self.sub = self.hub.bus.subscribe(GROUP_QUEUE)
                self.resnapshot_all()
                continue
            try:
                await self._deliver(batch)
            except Exception:  # noqa: BLE001 - one bad event must not stop every board
                log.exception("board fan-out: %d events not delivered", len(batch))

    async def _deliver(self, batch: list[Event]) -> None:
        """Events in order; a resync (or an event that calls for one) restarts the boards
        from a snapshot, which already holds everything before it."""
        run: list[Event] = []
        for event in batch:
            if event.type == ev.RESYNC or (event.type in self.resnapshot_on
                                           and self.accept(event)):
                await self._send(run)
                run = []
                self.resnapshot_all()
            elif self.accept(event):
                run.append(event)
        await self._send(run)

    async def _send(self, events: list[Event]) -> None:
        if not events or not self.members:
            return
        texts = await self.render(events)
        if not texts:
            return
        frames = b"".join(frame_bytes(text) for text in texts)
        self.encoded += len(texts)
        for m in list(self.members):
            m.deliver(texts, frames)

    def close(self) -> None:
        self.task.cancel()
        self.sub.close()


class FanoutHub:
    """Per process: the groups of boards, by filter key."""

    def __init__(self, bus: Any) -> None:
        self.bus = bus
        self.groups: dict[Hashable, Group] = {}

    def join(self, member: Member, key: Hashable, accept: Accept, render: Render,
             resnapshot_on: frozenset[str]) -> Group:
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = Group(self, key, accept, render, resnapshot_on)
        group.members.add(member)
        return group

    def leave(self, member: Member, group: Group) -> None:
        group.members.discard(member)
        if not group.members and self.groups.get(group.key) is group:
            del self.groups[group.key]
            group.close()

    def close(self) -> None:
        for group in list(self.groups.values()):
            group.close()
        self.groups.clear()


def hub_for(app: Any) -> FanoutHub:
    hub = getattr(state_of(app), "fanout", None)
    if hub is None or hub.bus is not state_of(app).bus:
        hub = state_of(app).fanout = FanoutHub(state_of(app).bus)
    return hub


async def close_quietly(ws: Any, code: int, reason: str = "") -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(ws.close(code=code, reason=reason), 1.0)
