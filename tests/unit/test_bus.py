"""The event bus interface (memory backend) and the websocket loop's handling of slow clients."""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace
from typing import Any

import pytest

from app.bus import EventBus, SubscriberOverflow, make_bus
from app.domain import events as ev
from app.domain.events import Event
from app.metrics import Metrics


def called(n: int, site_id: int = 1) -> Event:
    return Event(ev.TICKET_CALLED, site_id, {"number": f"A-{n:03d}", "counter": "1"})


async def drain(sub: Any, count: int, timeout: float = 5.0) -> list[Event]:
    return [await asyncio.wait_for(sub.get(), timeout) for _ in range(count)]


async def test_fan_out_reaches_every_subscriber_in_order() -> None:
    bus = EventBus()
    await bus.start()
    subs = [bus.subscribe(16) for _ in range(3)]
    events = [called(i) for i in range(5)]
    bus.publish_after_commit(events)
    for sub in subs:
        assert await drain(sub, 5) == events
    assert bus.subscriber_count == 3
    subs[0].close()
    assert bus.subscriber_count == 2
    bus.publish_after_commit([called(9)])
    assert subs[0].queue.empty()
    assert (await drain(subs[1], 1))[0].data["number"] == "A-009"
    await bus.stop()


async def test_overflow_drops_only_the_slow_subscriber() -> None:
    bus = EventBus()
    await bus.start()
    slow = bus.subscribe(3)
    fast = bus.subscribe(3)
    received: list[Event] = []
    for i in range(10):
        bus.publish_after_commit([called(i)])
        received += await drain(fast, 1)  # the fast one keeps up
    assert [e.data["number"] for e in received] == [f"A-{i:03d}" for i in range(10)]
    assert slow.overflowed and not fast.overflowed
    assert bus.dropped == 1
    with pytest.raises(SubscriberOverflow):
        await slow.get()
    # Still delivering to the others after the slow one was dropped.
    bus.publish_after_commit([called(99)])
    assert (await drain(fast, 1))[0].data["number"] == "A-099"
    await bus.stop()


async def test_events_from_worker_threads_reach_the_loop() -> None:
    """Request handlers run in a thread pool; their commits publish from there."""
    bus = EventBus()
    await bus.start()
    sub = bus.subscribe(16)
    thread = threading.Thread(target=bus.publish_after_commit, args=([called(1), called(2)],))
    thread.start()
    thread.join()
    got = await drain(sub, 2)
    assert [e.data["number"] for e in got] == ["A-001", "A-002"]
    await bus.stop()


async def test_resync_and_stopped_bus() -> None:
    bus = EventBus()
    await bus.start()
    sub = bus.subscribe(4)
    bus.resync()
    assert (await drain(sub, 1))[0].type == ev.RESYNC
    await bus.stop()
    bus.publish_after_commit([called(1)])  # a stopped bus drops silently
    assert sub.queue.empty() and not bus.healthy


def test_make_bus_picks_the_backend() -> None:
    assert make_bus("memory", "sqlite:///x.db").name == "memory"
    pg = make_bus("postgres", "postgresql+psycopg://u@127.0.0.1:1/x")
    assert pg.name == "postgres" and pg.transactional
    assert not EventBus.transactional


def test_event_json_round_trip() -> None:
    e = Event(ev.TICKET_CALLED, 7, {"number": "B-012", "recall": True, "clips": ["a"]})
    assert Event.from_json(e.to_json()) == e
    assert e.message() == {"type": ev.TICKET_CALLED, "site_id": 7, "number": "B-012",
                           "recall": True, "clips": ["a"]}


# --- the websocket loop: a dead client never delays the others -------------------------------


class FakeSocket:
    """Stands in for a WebSocket: records what it is sent; a stuck one never finishes a send."""

    def __init__(self, app: Any, stuck: bool = False) -> None:
        self.app = app
        self.stuck = stuck
        self.sent: list[Any] = []
        self.closed: int | None = None
        self.got = asyncio.Event()

    async def _send(self, message: Any) -> None:
        if self.stuck and self.sent:  # takes the snapshot, then its socket buffer is full
            await asyncio.Event().wait()
        self.sent.append(message)
        self.got.set()

    async def send_json(self, message: Any) -> None:
        await self._send(message)

    async def send_text(self, message: str) -> None:
        await self._send(message)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed = code


async def test_stuck_websocket_is_dropped_without_delaying_others(monkeypatch) -> None:
    from app.api import ws as wsmod

    monkeypatch.setattr(wsmod, "QUEUE_SIZE", 5)
    monkeypatch.setattr(wsmod, "SEND_TIMEOUT", 0.5)
    bus = EventBus()
    await bus.start()
    app = SimpleNamespace(state=SimpleNamespace(bus=bus, metrics=Metrics()))
    stuck = FakeSocket(app, stuck=True)
    healthy = [FakeSocket(app) for _ in range(3)]
    tasks = [asyncio.create_task(wsmod.serve_events(s, "display", lambda: {"type": "snapshot"},
                                                    lambda e: True))
             for s in [stuck, *healthy]]
    for s in [stuck, *healthy]:
        await asyncio.wait_for(s.got.wait(), 5)
    loop = asyncio.get_running_loop()
    start = loop.time()
    for i in range(20):
        bus.publish_after_commit([called(i)])
        for s in healthy:  # every healthy screen gets each event at once
            while len(s.sent) < i + 2:
                await asyncio.sleep(0.001)
    assert loop.time() - start < 0.5 * 20  # never waited on the stuck socket's timeouts
    for s in healthy:
        assert len(s.sent) == 21 and s.closed is None
    # The stuck client is closed ("too slow") and its task ends; the others keep running.
    await asyncio.wait_for(tasks[0], 5)
    assert stuck.closed == 1013
    assert bus.subscriber_count == 3
    for t in tasks[1:]:
        assert not t.done()
        t.cancel()
    await asyncio.gather(*tasks[1:], return_exceptions=True)
    await bus.stop()


def test_boards_share_a_snapshot_only_until_the_next_event() -> None:
    """A reconnect storm costs one snapshot per view, never a snapshot older than an event."""
    from app.api.ws import _SharedSnapshots

    shared = _SharedSnapshots()
    bus = SimpleNamespace(delivered=0)
    made: list[int] = []

    def make() -> dict[str, Any]:
        made.append(1)
        return {"type": "snapshot", "n": len(made)}

    results = [shared.get("view-1", bus, make) for _ in range(50)]
    assert len(made) == 1 and len(set(results)) == 1
    assert shared.get("view-2", bus, make) != results[0] and len(made) == 2
    bus.delivered += 1  # an event went by: the next screen must not get the older snapshot
    assert '"n":3' in shared.get("view-1", bus, make)
    threads = [threading.Thread(target=shared.get, args=("view-3", bus, make)) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 4  # concurrent boards wait for the one computing it
