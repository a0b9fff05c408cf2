"""A board group that falls behind catches up in batches: the costly part of rendering (the
waiting counts' query) runs once per batch, and every event still reaches every board, in
order."""

from __future__ import annotations

import asyncio

from app.api import ws_fanout
from app.bus.base import EventBus
from app.domain.events import Event


class FakeBoard:
    """Stands in for a board's socket on the slow path (no raw transport)."""

    scope: dict = {}


async def test_a_backlog_is_rendered_as_batches_in_order() -> None:
    bus = EventBus()
    await bus.start()
    renders: list[int] = []

    async def render(events: list[Event]) -> list[str]:
        renders.append(len(events))
        await asyncio.sleep(0.01)  # the query of the waiting counts
        return [e.to_json() for e in events]

    hub = ws_fanout.FanoutHub(bus)
    member = ws_fanout.Member(FakeBoard())
    member.ready = True
    hub.join(member, "site-1", lambda e: e.site_id == 1, render, frozenset())
    await asyncio.sleep(0)
    events = [Event("ticket.issued", 1 if i % 5 else 2, {"n": i}) for i in range(300)]
    bus.publish_after_commit(events)  # all at once: the group finds a backlog
    await asyncio.sleep(0.3)
    sent = []
    while not member.control.empty():
        kind, text = member.control.get_nowait()
        assert kind == "send"
        sent.append(text)
    wanted = [e.to_json() for e in events if e.site_id == 1]
    assert sent == wanted  # every event of its filter, once, in order
    assert sum(renders) == len(wanted) and len(renders) < 10, renders
    hub.close()
    await bus.stop()


class RawTransport:
    """A board's socket on the fast path: records each write (one syscall each)."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def is_closing(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return 0

    def write(self, data: bytes) -> None:
        self.writes.append(data)


def _messages(data: bytes) -> list[str]:
    """The text frames in `data` (unmasked, as a server sends them), in order, parsed by
    websockets' own client protocol."""
    from websockets.client import ClientProtocol
    from websockets.protocol import State
    from websockets.uri import parse_uri

    client = ClientProtocol(parse_uri("ws://board/ws/display"), state=State.OPEN)
    client.receive_data(data)
    return [e.data.decode() for e in client.events_received()]


async def test_a_batch_leaves_in_one_write_per_board_as_separate_messages() -> None:
    bus = EventBus()
    await bus.start()

    async def render(events: list[Event]) -> list[str]:
        return [e.to_json() for e in events]

    hub = ws_fanout.FanoutHub(bus)
    boards = []
    for _ in range(3):
        member = ws_fanout.Member(FakeBoard())
        member.raw = (object(), RawTransport())
        member.ready = True
        boards.append(member)
        hub.join(member, "site-1", lambda e: e.site_id == 1, render, frozenset())
    await asyncio.sleep(0)
    # A call-next's two events (the finish of the ticket before, the call) commit together.
    events = [Event("ticket.status", 1, {"n": 1}), Event("ticket.called", 1, {"n": 2})]
    bus.publish_after_commit(events)
    await asyncio.sleep(0.05)
    for member in boards:
        writes = member.raw[1].writes
        assert len(writes) == 1, writes
        assert _messages(writes[0]) == [e.to_json() for e in events]
    hub.close()
    await bus.stop()
