"""The event bus: local fan-out to bounded subscriber queues, plus a transport between processes."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from typing import Any

from app.domain.events import RESYNC, Event

log = logging.getLogger(__name__)


class SubscriberOverflow(Exception):
    """The subscriber fell too far behind and was dropped."""


class Subscription:
    """One screen's bounded queue. A slow reader is cut off rather than slowing the others."""

    def __init__(self, bus: EventBus, maxsize: int) -> None:
        self._bus = bus
        self.queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=maxsize)
        self.overflowed = False

    def offer(self, event: Event) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True
            self._bus.dropped += 1

    async def get(self) -> Event:
        if self.overflowed:
            raise SubscriberOverflow
        event = await self.queue.get()
        if self.overflowed and self.queue.empty():
            raise SubscriberOverflow
        return event

    def drain(self, limit: int) -> list[Event]:
        """Up to `limit` events already queued, without waiting (a consumer that fell behind
        takes them as one batch)."""
        out: list[Event] = []
        while len(out) < limit and not self.queue.empty():
            out.append(self.queue.get_nowait())
        if self.overflowed and self.queue.empty():
            raise SubscriberOverflow
        return out

    async def __aiter__(self) -> AsyncIterator[Event]:
        while True:
            yield await self.get()

    def close(self) -> None:
        self._bus.unsubscribe(self)


class EventBus:
    """Memory backend: events reach this process's subscribers only (one-process SQLite)."""

    name = "memory"
    #: True when events must be sent inside the database transaction (pg_notify).
    transactional = False

    def __init__(self) -> None:
        self._subs: set[Subscription] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self.dropped = 0
        self.delivered = 0
        self.last_lag_seconds = 0.0

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()

    async def stop(self) -> None:
        self._loop = None

    @property
    def healthy(self) -> bool:
        return self._loop is not None

    @property
    def subscriber_count(self) -> int:
        return len(self._subs)

    def subscribe(self, maxsize: int = 256) -> Subscription:
        sub = Subscription(self, maxsize)
        with self._lock:
            self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            self._subs.discard(sub)

    def _fanout(self, event: Event) -> None:
        with self._lock:
            subs = list(self._subs)
        for sub in subs:
            sub.offer(event)
        self.delivered += 1

    def deliver_local(self, event: Event) -> None:
        """Fan an event out to this process's subscribers; safe from any thread."""
        loop = self._loop
        if loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._fanout(event)
        else:
            loop.call_soon_threadsafe(self._fanout, event)

    def publish_after_commit(self, events: list[Event]) -> None:
        """Called once the transaction that raised these events has committed."""
        for event in events:
            self.deliver_local(event)

    def emit_in_transaction(self, connection: Any, events: list[Event]) -> None:
        """Transport hook for backends that ride the database transaction (none here)."""

    def pipelined_channel(self) -> tuple[str, str] | None:
        """(channel, stamp) for a use case that sends its own notification with its COMMIT;
        None when this transport does not ride the database."""
        return None

    def resync(self) -> None:
        self.deliver_local(Event(type=RESYNC, site_id=0))
