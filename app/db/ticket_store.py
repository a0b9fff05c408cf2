"""The ticket store: every statement on tickets, counters' queues and their events.

Services decide (app/domain) and ask this store to read and write; they never build ticket SQL
or touch a driver. Dialect specifics live here: row locks and SKIP LOCKED on PostgreSQL, the
upsert flavour, and PostgreSQL's lean pipelined issue statements (app/db/issue_sql.py). The
kiosk's asyncio store (KioskStore) writes the same decided ticket through psycopg directly.

The store flushes at most; the unit of work commits.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Any, Generic, TypeVar

import psycopg
import sqlalchemy as sa
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy import orm
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.db import call_sql, issue_sql
from app.db.call_sql import CallApply, CounterRead, StartRead
from app.db.issue_sql import Claim, CommitWith, Facts, KioskRead, Written
from app.db.models import (
    Agency,
    Counter,
    IdempotencyKey,
    Service,
    Site,
    SurveyResponse,
    Ticket,
    TicketEvent,
    User,
)
from app.domain.issuing import NewTicket

log = logging.getLogger(__name__)
__all__ = ["CallApply", "Claim", "CommitWith", "CounterRead", "CounterStore", "Facts",
           "KioskRead", "KioskStore", "StartRead", "TicketStore", "Written"]

ACTIVE_AT_COUNTER = ("called", "serving")
OPEN_STATUSES = ("waiting", "called", "serving", "held")


class TicketStore:
    """The ticket statements of one unit of work, on its session."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.postgres = session.get_bind().dialect.name == "postgresql"

    # --- plain reads and writes ---------------------------------------------------------------

    def insert(self, table: sa.Table | type) -> sa.Insert:
        """An INSERT of this dialect (for on_conflict_do_*)."""
        dialect = postgresql if self.postgres else sqlite
        return dialect.insert(table)  # type: ignore[arg-type]

    def service(self, service_id: int) -> Service | None:
        return self.session.get(Service, service_id)

    def user(self, user_id: int | None) -> User | None:
        return self.session.get(User, user_id) if user_id is not None else None

    def ticket(self, ticket_id: int, *, lock: bool = False) -> Ticket | None:
        stmt = sa.select(Ticket).where(Ticket.id == ticket_id)
        if lock and self.postgres:
            stmt = stmt.with_for_update(of=Ticket)
        ticket = self.session.scalar(stmt)
        if ticket is not None and (ticket.service is None
                                   or ticket.service.id != ticket.service_id):
            # The lock waited for a commit that moved the ticket to another service (a visit's
            # next step): PostgreSQL re-reads the locked row but not the joined service row.
            self.session.expire(ticket, ["service"])
        return ticket

    def counter(self, counter_id: int, *, lock: bool = False) -> Counter | None:
        """Locked (PostgreSQL): read again, FOR UPDATE, with the services it calls for. Not
        locked: the one this unit of work already holds, if any (no statement), its services
        read only when asked for."""
        if not lock:
            return self.session.get(Counter, counter_id,
                                    options=[orm.lazyload(Counter.services)])
        stmt = sa.select(Counter).where(Counter.id == counter_id)
        if self.postgres:
            stmt = stmt.with_for_update(of=Counter)
        return self.session.scalar(stmt)

    def touch_counter(self, counter: Counter) -> None:
        """Write the counter's row at the flush even if nothing on it changed (a call did)."""
        orm.attributes.flag_modified(counter, "priority_streak")

    def by_tracking(self, code: str) -> Ticket | None:
        return self.session.scalar(sa.select(Ticket).where(Ticket.tracking_code == code))

    def has_survey(self, ticket_id: int) -> bool:
        stmt = sa.select(SurveyResponse.id).where(SurveyResponse.ticket_id == ticket_id)
        return self.session.scalar(stmt) is not None

    def add_event(self, event: TicketEvent) -> None:
        self.session.add(event)

    def flush(self) -> None:
        self.session.flush()

    # --- counters' queues ---------------------------------------------------------------------

    def current_ticket(self, counter_id: int) -> Ticket | None:
        """The ticket called to or served at this counter now."""
        return self.session.scalar(
            sa.select(Ticket)
            .where(Ticket.counter_id == counter_id, Ticket.status.in_(ACTIVE_AT_COUNTER))
            .order_by(Ticket.called_at.desc())
            .limit(1)
        )

    def queue_head(self, service_ids: list[int], day: date, *, priority: bool) -> Ticket | None:
        """The first waiting ticket (priority or regular) of these services today; on
        PostgreSQL locked, skipping a row another counter holds, so two counters never take
        the same ticket."""
        t = Ticket.__table__.c
        stmt = (
            sa.select(Ticket)
            .where(
                t.service_id.in_(service_ids),
                t.day == day,
                # Written out, not bound: the planner must see the partial index's predicate
                # (ix_ticket_head_*) in the statement itself, prepared or not.
                t.status == sa.literal_column("'waiting'"),
                t.priority.is_not(None) if priority else t.priority.is_(None),
            )
            .order_by(t.sort_at, t.id)
            .limit(1)
        )
        if self.postgres:
            stmt = stmt.with_for_update(skip_locked=True, of=Ticket)
        return self.session.scalar(stmt)

    def sites(self, site_id: int | None = None) -> list[Site]:
        stmt = sa.select(Site).where(Site.id == site_id) if site_id else sa.select(Site)
        return list(self.session.scalars(stmt))

    def unfinished(self, site_id: int, cutoff: date, *, inclusive: bool) -> list[Ticket]:
        """The site's tickets of days before `cutoff` (or up to it) still open."""
        cond = Ticket.day <= cutoff if inclusive else Ticket.day < cutoff
        return list(self.session.scalars(sa.select(Ticket).where(
            Ticket.site_id == site_id, cond, Ticket.status.in_(OPEN_STATUSES))))

    def open_counters_at(self, site_id: int) -> list[Counter]:
        return list(self.session.scalars(
            sa.select(Counter).join(Agency, Agency.id == Counter.agency_id)
            .where(Counter.is_open.is_(True), Agency.site_id == site_id)))

    # --- issuing ------------------------------------------------------------------------------

    def issue_facts(self, service_id: int, now: datetime, claim: Claim | None) -> Facts:
        """Claim the Idempotency-Key (if any) and read what decide_issue needs."""
        return issue_sql.read_facts(self.session.connection(), service_id, now, claim)

    def idempotency_key(self, claim: Claim) -> IdempotencyKey | None:
        """The key a first request claimed (read after it committed)."""
        return self.session.get(IdempotencyKey, (claim.scope, claim.key),
                                populate_existing=True)

    def write_issue(self, new: NewTicket) -> Written | None:
        """Write the decided ticket; None when the quota ran out meanwhile (nothing written)."""
        return issue_sql.write_ticket(self.session.connection(), new)

    def people_ahead(self, ticket: Ticket) -> int:
        return issue_sql.count_ahead(self.session.connection(), service_id=ticket.service_id,
                                     day=ticket.day, sort_at=ticket.sort_at, seq=ticket.seq,
                                     tracking_code=ticket.tracking_code,
                                     priority=ticket.priority)

    def open_counter_count(self, service_id: int) -> int:
        return int(self.session.execute(issue_sql.OPEN_COUNTERS,
                                        {"service_id": service_id}).scalar_one())

    def recent_service_minutes(self, service_id: int, day: date) -> list[float]:
        rows = self.session.execute(issue_sql.RECENT_SECONDS,
                                    {"service_id": service_id, "day": day})
        return [s / 60 for s in rows.scalars()]


C = TypeVar("C")


class _PooledStore(Generic[C]):
    """Statements on PostgreSQL asyncio connections in autocommit mode, through `wrap`."""

    def __init__(self, pool: AsyncConnectionPool, wrap: Callable[[Any], C]) -> None:
        self.pool = pool
        self._wrap = wrap

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[C | None]:
        """None when no connection is at hand (the database restarting?)."""
        try:
            async with self.pool.connection() as conn:
                try:
                    yield self._wrap(conn)
                finally:
                    if (not conn.closed and conn.info.transaction_status
                            != psycopg.pq.TransactionStatus.IDLE):
                        # An error or a cancellation left a transaction open: undo it (or
                        # drop the connection, which the pool then replaces).
                        try:
                            await conn.execute("ROLLBACK")
                        except psycopg.Error:
                            await conn.close()
        except PoolTimeout:
            yield None


class KioskStore(_PooledStore["KioskConnection"]):
    """The kiosk's issue on PostgreSQL asyncio connections in autocommit mode: one read, one
    write that commits, one count (app/db/issue_sql.py). Every answer it cannot give is None,
    with nothing written; a connection lost during the write raises (it may have committed)."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        super().__init__(pool, KioskConnection)


class KioskConnection:
    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._conn = conn

    async def read(self, *, token_hash: str, service_id: int, idem_key: str | None,
                   now: datetime) -> KioskRead | None:
        try:
            return await issue_sql.kiosk_read(self._conn, token_hash=token_hash,
                                              service_id=service_id, idem_key=idem_key, now=now)
        except psycopg.Error:
            return None  # nothing written: the reference tries (and answers 503 if it must)

    async def write(self, new: NewTicket, commit: CommitWith | None) -> Written | None:
        try:
            return await issue_sql.kiosk_write(self._conn, new, commit)
        except psycopg.OperationalError:
            raise  # the write may have committed: 503, and the kiosk retries with its key
        except psycopg.IntegrityError:
            return None  # a twin request holds the key; the statement was undone
        except psycopg.Error:
            log.exception("kiosk issue refused by the database; the reference answers")
            return None  # the statement was undone


class CounterStore(_PooledStore["CounterConnection"]):
    """An officer's call-next and start on PostgreSQL asyncio connections (app/db/call_sql.py):
    a call-next is a transaction of two round trips (read under locks, write and commit), a
    start two autocommit statements. Every answer it cannot give is None with nothing written;
    a connection lost during the commit raises (it may have committed)."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        super().__init__(pool, CounterConnection)


class CounterConnection:
    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._conn = conn

    async def call_lock(self, *, user_id: int, counter_id: int, day: date
                        ) -> CounterRead | None:
        """Begin the call's transaction and read under its locks (None: no such user or
        counter, or the database refused: nothing held). call_apply or rollback ends it."""
        try:
            read = await call_sql.call_lock(self._conn, user_id=user_id,
                                            counter_id=counter_id, day=day)
        except psycopg.Error:
            await self.rollback()
            return None  # nothing written: the reference tries (and answers 503 if it must)
        if read is None:
            await self.rollback()
        return read

    async def call_apply(self, write: CallApply) -> tuple[Any, ...] | None:
        try:
            row = await call_sql.call_apply(self._conn, write)
        except psycopg.errors.TransactionRollbackError:
            await self.rollback()
            return None  # a deadlock or serialization failure: undone
        except psycopg.OperationalError:
            raise  # the commit's outcome is unknown: 503
        except psycopg.Error:
            log.exception("call-next refused by the database; the reference answers")
            await self.rollback()
            return None  # the transaction was undone
        if row is None:
            await self.rollback()  # nothing was written; the COMMIT ended an empty transaction
        return row

    async def rollback(self) -> None:
        """End the call's transaction, if one is open, writing nothing."""
        try:
            await call_sql.rollback(self._conn)
        except psycopg.Error:
            await self._conn.close()  # the pool replaces it; the transaction dies with it

    async def start_read(self, *, user_id: int, ticket_id: int) -> StartRead | None:
        try:
            return await call_sql.start_read(self._conn, user_id=user_id, ticket_id=ticket_id)
        except psycopg.Error:
            return None

    async def start_write(self, **kw: Any) -> tuple[Any, ...] | None:
        try:
            return await call_sql.start_write(self._conn, **kw)
        except psycopg.errors.TransactionRollbackError:
            return None
        except psycopg.OperationalError:
            raise
        except psycopg.Error:
            log.exception("start refused by the database; the reference answers")
            return None
