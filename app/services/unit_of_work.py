"""The unit of work: one session, one transaction, the events it raised, published after commit.

Every request, websocket action and periodic job that writes runs its use case inside one of
these; use cases only flush. On success the events raised (ctx.outbox) ride the transaction
(PostgreSQL: pg_notify, delivered only if it commits), the session commits, and only then are
they published to this process's screens and counted. On any error everything is rolled back and
nothing is published, except a refusal that must keep its writes (ctx.keep_writes_on_refusal:
a failed sign-in's count).

The kiosk's asyncio issue (app/services/kiosk_issue.py) is one autocommit statement, its own
transaction; it publishes through `published` below, as every unit of work does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.domain.errors import DomainError
from app.domain.events import Event
from app.services.context import Ctx, Principal


@contextmanager
def unit_of_work(factory: sessionmaker[Session], bus: Any = None, *, now: datetime,
                 actor: Principal | None = None, ip: str | None = None,
                 readonly: bool = False, metrics: Any = None) -> Iterator[Ctx]:
    """Open a session and a Ctx; commit and publish on success, roll back on error."""
    session = factory()
    if readonly:
        # SQLite: a deferred BEGIN, so readers run beside the writer (app/db/session.py).
        session.connection(execution_options={"mpp_readonly": True})
    ctx = Ctx(session=session, now=now, actor=actor, ip=ip)
    try:
        try:
            yield ctx
        except DomainError:
            if not ctx.keep_writes_on_refusal:
                raise
            _commit(session, bus, ctx.outbox)
            raise
        _commit(session, bus, ctx.outbox)
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    published(bus, ctx.outbox, metrics)


def _commit(session: Session, bus: Any, events: list[Event]) -> None:
    if events and bus is not None and bus.transactional:
        session.flush()
        bus.emit_in_transaction(session.connection(), events)
    session.commit()


def published(bus: Any, events: list[Event], metrics: Any = None, *,
              sent_with_commit: bool = False) -> None:
    """After a commit: count the events and hand them to this process's screens (a transport
    riding the database delivers them itself, through LISTEN)."""
    if metrics is not None:
        metrics.record_events(events)
    if bus is not None and not sent_with_commit:
        bus.publish_after_commit(events)
