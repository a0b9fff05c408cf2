"""Engine and session factory. Nothing connects at import time."""

from __future__ import annotations

import select
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from psycopg.pq import ConnStatus
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and explicit transaction control."""
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 20)
        kwargs.setdefault("max_overflow", 20)
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy, not the driver, issue BEGIN (see _sqlite_begin).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: sa.Connection) -> None:
            # Writers take the write lock up front so two transactions never deadlock
            # upgrading a read lock; readers stay deferred and run alongside.
            if conn.get_execution_options().get("mpp_readonly"):
                conn.exec_driver_sql("BEGIN")
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    engine = sa.create_engine(url, **kwargs)
    event.listen(engine, "checkout", _drop_if_server_spoke)
    return engine


def _drop_if_server_spoke(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
    """A cheap pre-ping: an idle pooled connection the server has written to is gone.

    PostgreSQL writes to an idle client only to say goodbye (restart, shutdown, terminated
    backend): then the socket is readable, or closed. Checking that costs no round trip, unlike
    pool_pre_ping's SELECT 1 on every checkout. A connection that died silently still fails its
    first statement (503), and SQLAlchemy then discards the whole pool.
    """
    if server_said_goodbye(dbapi_conn):
        raise sa.exc.DisconnectionError("the server closed this idle connection")


def server_said_goodbye(conn: Any) -> bool:
    """An idle psycopg connection (sync or asyncio) that is closed, or whose socket is readable:
    its backend is gone. No round trip."""
    if conn.closed or conn.pgconn.status != ConnStatus.OK:
        return True
    readable, _, _ = select.select([conn.pgconn.socket], [], [], 0)
    return bool(readable)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, autoflush=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session], *, write: bool = True) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    session = factory()
    if not write:
        session.connection(execution_options={"mpp_readonly": True})
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"
