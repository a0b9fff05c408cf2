"""Bound the HTTP requests in flight so the worker thread pool can never run dry.

Every request runs its unit of work in threads: the dependency opens it in one thread, the
endpoint runs in a second, the commit in a third, each needing a free slot of AnyIO's pool (40 by
default). When more requests than slots wait on a database lock (SQLite's single write lock, a
PostgreSQL row lock on the day's sequence), the holder cannot get a slot to commit and everyone
waits until the lock times out: with 50 kiosks on SQLite every issue stalled for 30 s and then
failed with 503. Waiting in the event loop instead of in threads removes that deadlock. On SQLite
writers are also queued one at a time here: the database serialises them anyway, and an asyncio
queue wakes the next writer at once instead of SQLite's sleep-and-retry busy handler.
"""

from __future__ import annotations

import asyncio
from typing import Any

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class InFlightLimit:
    """Pure ASGI middleware (so streaming and websockets pass untouched)."""

    def __init__(self, app: Any, *, limit: int = 32, serialize_writes: bool = False) -> None:
        self.app = app
        self.limit = limit
        self.serialize_writes = serialize_writes
        # Created on first use, inside the server's running event loop.
        self._slots: asyncio.Semaphore | None = None
        self._writer: asyncio.Lock | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.limit)
            self._writer = asyncio.Lock()
        async with self._slots:
            if self.serialize_writes and scope.get("method") not in SAFE_METHODS:
                assert self._writer is not None
                async with self._writer:
                    await self.app(scope, receive, send)
            else:
                await self.app(scope, receive, send)
