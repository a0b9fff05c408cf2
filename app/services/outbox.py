"""The durable outbox: messages and webhooks leave through rows of `outbox`, never from memory.

Writing: `enqueue` inserts the row in the session (the transaction) of its cause, so it exists
exactly when the cause committed; its `key` names the cause, so a retried request or a second
worker handling the same cause never makes a second row.

Relaying (`relay_once`, run every `outbox_poll_seconds` by each server process):
1. a read-only look for due rows (SQLite takes no write lock while there is nothing to do);
2. a short transaction claims up to `outbox_batch` due rows: status `sending`, a lease with a
   token, one more attempt counted. On PostgreSQL the rows are picked FOR UPDATE SKIP LOCKED,
   so several workers claiming at once get different rows; SQLite has a single writer;
3. each row is sent by its kind's channel (app/services/channels.py) outside any transaction,
   so a slow provider holds no lock and never slows a queue action;
4. a short transaction records the outcome, if the lease is still ours: `sent` (the provider's
   id kept for its status callbacks), back to `pending` after a growing delay, or `failed`.
A relay killed mid-send (kill -9, a restart) leaves its rows `sending`; once their lease ends
any relay claims them again. The lease outlasts a whole batch of sends at their timeout, so a
live relay never loses its rows. The key goes with every attempt (the provider's idempotency
key, the webhook-id), so a receiver recognises an attempt it already got.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import OutboxMessage, utcnow
from app.db.session import unit_of_work
from app.domain.retry import gives_up, retry_delay_seconds
from app.services import channels as channel_registry
from app.services.channels import Channel, Outcome, Outgoing
from app.state import state_of

log = logging.getLogger(__name__)
_o = OutboxMessage.__table__
_oc = _o.c


def enqueue(session: Session, *, kind: str, topic: str, key: str, payload: dict[str, Any],
            now: datetime, site_id: int | None = None, target: str | None = None,
            ticket_id: int | None = None, booking_id: int | None = None,
            due: datetime | None = None) -> bool:
    """Write one row in the caller's transaction; False when its key exists already."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(_o).values(
        kind=kind, topic=topic, key=key[:160], site_id=site_id, ticket_id=ticket_id,
        booking_id=booking_id, target=target, payload=payload, status="pending", attempts=0,
        next_attempt_at=due or now, created_at=now,
    ).on_conflict_do_nothing(index_elements=["key"]).returning(_oc.id)
    return session.execute(stmt).first() is not None


@dataclass(frozen=True)
class RelayPolicy:
    batch: int = 10
    timeout_seconds: float = 5.0
    retry_base_seconds: float = 10.0
    retry_cap_seconds: float = 3600.0
    max_attempts: int = 12

    @property
    def lease(self) -> timedelta:
        # Longer than a whole batch of sends at their timeout.
        return timedelta(seconds=self.batch * self.timeout_seconds + 30)

    @classmethod
    def from_settings(cls, settings: Any) -> RelayPolicy:
        return cls(batch=settings.outbox_batch, timeout_seconds=settings.outbox_timeout_seconds,
                   retry_base_seconds=settings.outbox_retry_base_seconds,
                   retry_cap_seconds=settings.outbox_retry_cap_seconds,
                   max_attempts=settings.outbox_max_attempts)


# Written out, not bound: the planner must see the partial index's predicate (ix_outbox_due).
_IN_FLIGHT = sa.text("outbox.status IN ('pending', 'sending')")
_DUE = sa.and_(_IN_FLIGHT, sa.or_(
    sa.and_(_oc.status == "pending", _oc.next_attempt_at <= sa.bindparam("now")),
    # A relay died holding these.
    sa.and_(_oc.status == "sending", _oc.lease_until < sa.bindparam("now")),
))
PEEK = sa.select(_oc.id).where(_DUE).limit(1)
_PICK = (sa.select(_oc.id).where(_DUE).order_by(_oc.next_attempt_at, _oc.id)
         .limit(sa.bindparam("batch")).with_for_update(skip_locked=True))
CLAIM = (
    sa.update(_o).where(_oc.id.in_(_PICK.scalar_subquery()))
    .values(status="sending", lease_until=sa.bindparam("lease_until"),
            lease_token=sa.bindparam("token"), attempts=_oc.attempts + 1)
    .returning(_oc.id, _oc.kind, _oc.topic, _oc.key, _oc.site_id, _oc.target, _oc.payload,
               _oc.attempts, _oc.created_at)
)
_MINE = sa.and_(_oc.id == sa.bindparam("row_id"), _oc.lease_token == sa.bindparam("token"),
                _oc.status == "sending")
_DONE = sa.update(_o).where(_MINE).values(
    status=sa.bindparam("new_status"), sent_at=sa.bindparam("sent_at"),
    provider_ref=sa.bindparam("provider_ref"), last_error=sa.bindparam("error"),
    next_attempt_at=sa.bindparam("next_at"), lease_until=None, lease_token=None)


def claim(session: Session, now: datetime, policy: RelayPolicy, token: str) -> list[Outgoing]:
    rows = session.execute(CLAIM, {"now": now, "batch": policy.batch, "token": token,
                                   "lease_until": now + policy.lease}).all()
    return sorted((Outgoing(*row[:7], attempt=row[7], created_at=row[8]) for row in rows),
                  key=lambda item: item.id)


def record(session: Session, item: Outgoing, outcome: Outcome, token: str, now: datetime,
           policy: RelayPolicy) -> str:
    """Store one attempt's outcome (if the lease is still ours); returns the new status."""
    next_at = now
    if outcome.result == "sent":
        status = "sent"
    elif outcome.result == "retry" and outcome.delay_seconds is not None:
        status = "pending"
        next_at = now + timedelta(seconds=outcome.delay_seconds)
    elif outcome.result == "retry" and not gives_up(item.attempt, policy.max_attempts):
        status = "pending"
        next_at = now + timedelta(seconds=retry_delay_seconds(
            item.attempt, base=policy.retry_base_seconds, cap=policy.retry_cap_seconds))
    else:
        status = "failed"
    session.execute(_DONE, {
        "row_id": item.id, "token": token, "new_status": status,
        "sent_at": now if status == "sent" else None, "provider_ref": outcome.provider_ref,
        "error": outcome.error[:500] if outcome.error else None, "next_at": next_at})
    return status


def relay_once(factory: sessionmaker[Session], channels: dict[str, Channel],
               policy: RelayPolicy, clock: Any = utcnow) -> int:
    """Claim one batch of due rows and send each; returns how many were claimed."""
    with unit_of_work(factory, write=False) as session:
        if session.execute(PEEK, {"now": clock()}).first() is None:
            return 0
    token = secrets.token_hex(8)
    with unit_of_work(factory) as session:
        items = claim(session, clock(), policy, token)
    for item in items:
        channel = channels.get(item.kind)
        if channel is None:
            outcome = Outcome("retry", error=f"no channel for {item.kind!r} in this process")
        else:
            try:
                outcome = channel.send(item)
            except Exception as exc:  # noqa: BLE001 - a channel's bug must not stop the relay
                log.exception("outbox: channel %s failed on row %s", item.kind, item.id)
                outcome = Outcome("retry", error=f"{type(exc).__name__}: {exc}")
        with unit_of_work(factory) as session:
            status = record(session, item, outcome, token, clock(), policy)
        if status != "sent":
            log.info("outbox row %s (%s %s) attempt %s: %s", item.id, item.kind, item.topic,
                     item.attempt, outcome.error)
    return len(items)


async def relay_loop(app: Any) -> None:
    settings = state_of(app).settings
    policy = RelayPolicy.from_settings(settings)
    channels = channel_registry.build(settings, state_of(app).session_factory)
    clock = state_of(app).clock
    while True:
        claimed = 0
        try:
            claimed = await asyncio.to_thread(relay_once, state_of(app).session_factory, channels,
                                              policy, clock)
        except Exception:  # noqa: BLE001 - the database restarting: try again next round
            log.warning("outbox relay: round failed", exc_info=True)
        if claimed < policy.batch:
            await asyncio.sleep(settings.outbox_poll_seconds)


async def starter(app: Any) -> asyncio.Task[None]:
    """Started by app/jobs.py."""
    return asyncio.create_task(relay_loop(app), name="outbox-relay")


# A provider's delivery report moves a row forward only (a late "sent" never undoes
# "delivered"); "failed" from the provider is final.
_RANK = {"pending": 0, "sending": 0, "sent": 1, "delivered": 2, "read": 3, "failed": 4}


def record_status(session: Session, *, status: str, now: datetime,
                  provider_ref: str | None = None, key: str | None = None,
                  error: str | None = None) -> bool:
    """A provider's status callback: find the row by its provider id (or our key, which the
    provider echoes back) and keep the newer status; False when no row matched."""
    if status not in ("sent", "delivered", "read", "failed") or not (provider_ref or key):
        return False
    cond = _oc.provider_ref == provider_ref if provider_ref else _oc.key == key
    if provider_ref and key:
        cond = sa.or_(cond, _oc.key == key)
    row = session.scalars(sa.select(OutboxMessage).where(cond).limit(1)).first()
    if row is None:
        return False
    if _RANK.get(status, 0) > _RANK.get(row.status, 0) and row.status != "failed":
        row.status = status
        if status in ("delivered", "read") and row.delivered_at is None:
            row.delivered_at = now
        if status == "failed":
            row.last_error = (error or "failed (provider report)")[:500]
        if row.sent_at is None and status != "failed":
            row.sent_at = now
        if provider_ref and row.provider_ref is None:
            row.provider_ref = provider_ref
    return True
