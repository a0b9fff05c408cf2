"""Asyncio PostgreSQL connections for the kiosk's ticket issue (app/services/kiosk_issue.py).

The issue is the one request every kiosk tap makes; run on these connections it needs no pool
thread, no SQLAlchemy session and no hand-off between the event loop and a thread. Everything
else uses the SQLAlchemy engine of app/db/session.py.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from app.db.session import server_said_goodbye


def libpq_url(url: str) -> str:
    """A SQLAlchemy URL (postgresql+psycopg://...) as libpq takes it."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


async def _drop_if_server_spoke(conn: psycopg.AsyncConnection[Any]) -> None:
    """The engine's checkout check (app/db/session.py), at the pool's checkout: a connection
    whose backend said goodbye (restart, terminate) is replaced before a request uses it."""
    if server_said_goodbye(conn):
        # Closed, so the pool discards it (it would take back a connection that only looks
        # fine).
        await conn.close()
        raise psycopg.OperationalError("the server closed this idle connection")


async def open_pool(database_url: str, size: int) -> AsyncConnectionPool:
    """Opened in the background: the first requests take the reference path until it is up.

    All `size` connections are kept open: the pool would otherwise grow one connection at a time
    while requests wait, each new backend slow for its first statements, at the very moment the
    kiosks get busy (a burst of 100+ ms at the benchmark's paced rate)."""
    size = max(1, size)
    pool = AsyncConnectionPool(
        libpq_url(database_url), min_size=size, max_size=size, open=False,
        kwargs={"autocommit": True},
        check=_drop_if_server_spoke, name="kiosk-issue",
        # A lost database must not leave kiosks waiting here: they fall back to the reference
        # path, which answers 503 at once while the database is down.
        timeout=2.0,
    )
    await pool.open(wait=False)
    return pool
