"""PostgreSQL backend: pg_notify inside the transaction, one LISTEN connection per process.

NOTIFY is delivered only when the sending transaction commits, so listeners never hear a
rolled-back change. When the listening connection is lost, the backend reconnects with backoff
and tells every local screen to take a fresh snapshot, since events may have been missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

import psycopg
import sqlalchemy as sa

from app.bus.base import EventBus
from app.domain.events import Event

log = logging.getLogger(__name__)
CHANNEL = "mpp_events"
# The payloads travel as one JSON text: psycopg escapes a text[]'s quoted items with a regular
# expression per quote, and every payload is JSON full of quotes.
_NOTIFY_ALL = sa.text("SELECT pg_notify(:channel, payload) "
                      "FROM json_array_elements_text(CAST(:payloads AS json)) "
                      "WITH ORDINALITY AS p(payload, n) ORDER BY n")


def _libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


class PostgresBus(EventBus):
    name = "postgres"
    transactional = True

    def __init__(self, database_url: str) -> None:
        super().__init__()
        self._dsn = _libpq_url(database_url)
        self._task: asyncio.Task[None] | None = None
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self.connected = False
        self.reconnects = 0

    async def start(self) -> None:
        await super().start()
        self._task = asyncio.create_task(self._listen_forever(), name="pg-listen")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await super().stop()

    @property
    def healthy(self) -> bool:
        return self.connected

    def emit_in_transaction(self, connection: Any, events: list[Event]) -> None:
        """pg_notify every event inside the unit of work's open transaction, in one statement
        (delivered, in order, only if it commits)."""
        payloads = json.dumps([_stamp(e.to_json()) for e in events])
        connection.execute(_NOTIFY_ALL, {"channel": CHANNEL, "payloads": payloads})

    def pipelined_channel(self) -> tuple[str, str] | None:
        return CHANNEL, _stamp("")

    def publish_after_commit(self, events: list[Event]) -> None:
        # Delivered through LISTEN, to this process as to the others.
        return

    async def drop_connection(self) -> None:
        """Close the LISTEN connection (used by fault tests); it reconnects by itself."""
        if self._conn is not None:
            await self._conn.close()

    async def _listen_forever(self) -> None:
        delay = 0.2
        first = True
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._dsn, autocommit=True
                ) as conn:
                    self._conn = conn
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.connected = True
                    delay = 0.2
                    if not first:
                        self.reconnects += 1
                        self.resync()
                    first = False
                    async for note in conn.notifies():
                        self._on_notify(note.payload)
            except asyncio.CancelledError:
                self.connected = False
                raise
            except Exception as exc:  # noqa: BLE001 - any loss of the connection
                log.warning("event bus: LISTEN connection lost (%s); retrying in %.1fs", exc, delay)
            self.connected = False
            self._conn = None
            first = False
            await asyncio.sleep(delay)
            # Capped low: boards must be back in sync within seconds of the database's return.
            delay = min(delay * 2, 2.0)

    def _on_notify(self, payload: str) -> None:
        try:
            sent_at, _, raw = payload.partition("|")
            event = Event.from_json(raw)
            self.last_lag_seconds = max(0.0, time.time() - float(sent_at))
        except Exception:  # noqa: BLE001 - a foreign NOTIFY on our channel
            log.warning("event bus: ignoring malformed payload")
            return
        self._fanout(event)


def _stamp(payload: str) -> str:
    # The send time travels with the event so the bus lag can be measured.
    return f"{time.time():.6f}|{payload}"
