"""Rate limits for the public endpoints, shared by every server process through the database.

Fixed windows: one row per (bucket, window start) in ``rate_limit_hit``, bumped with an atomic
upsert, so several uvicorn workers (or servers) behind one database count together. Over the
limit the request gets ``429 {"code": "rate_limited"}`` with a ``Retry-After`` header.

Counters run in their own short transaction, before the request's unit of work opens (declare
the dependency before ``CtxDep``): a refused or failing request still counts, and on SQLite the
two transactions never wait on each other.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from fastapi import Request
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.api.deps import client_ip
from app.db.models import RateLimitHit
from app.db.session import is_postgres
from app.domain.errors import DomainError
from app.services.booking import Policy, get_policy


def _window(now: datetime, seconds: int) -> tuple[datetime, int]:
    """The window's start and how many seconds remain in it."""
    epoch = int(now.timestamp())
    start = epoch - epoch % seconds
    return datetime.fromtimestamp(start, UTC), max(1, start + seconds - epoch)


def bump(session: Session, bucket: str, *, limit: int, seconds: int, now: datetime) -> int:
    """Count one hit; raise rate_limited when the window already holds `limit` hits."""
    if limit <= 0:  # 0 switches a limit off
        return 0
    start, remaining = _window(now, seconds)
    dialect = postgresql if is_postgres(session) else sqlite
    table = RateLimitHit.__table__
    stmt = (
        dialect.insert(table)
        .values(bucket=bucket[:160], window_start=start, hits=1)
        .on_conflict_do_update(index_elements=["bucket", "window_start"],
                               set_={"hits": table.c.hits + 1})
        .returning(table.c.hits)
    )
    hits = int(session.execute(stmt).scalar() or 0)
    if hits > limit:
        raise DomainError("rate_limited", seconds=remaining)
    return hits


def cleanup(session: Session, now: datetime) -> int:
    """Drop windows older than a day (the longest window in use)."""
    result = session.execute(
        sa.delete(RateLimitHit).where(RateLimitHit.window_start < now - timedelta(days=2))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def pseudonym(value: str) -> str:
    """Buckets keyed by a phone number store a hash, never the number itself."""
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def _client(request: Request) -> str:
    return client_ip(request) or "unknown"


def limit_by_ip(name: str, pick: Callable[[Policy], tuple[int, int]]) -> Callable[[Request], None]:
    """A dependency: at most `limit` requests per `seconds` per client IP for this bucket."""

    def dependency(request: Request) -> None:
        state = request.app.state
        now = state.clock()
        session: Session = state.session_factory()
        try:
            limit, seconds = pick(get_policy(session))
            try:
                bump(session, f"{name}:ip:{_client(request)}", limit=limit, seconds=seconds,
                     now=now)
            finally:
                # Counted even when refused, so hammering never resets the window.
                if random.random() < 0.01:
                    cleanup(session, now)
                session.commit()
        finally:
            session.close()

    dependency.__name__ = f"rate_limit_{name}"
    return dependency


def limit_phone(session: Session, phone: str, policy: Policy, now: datetime) -> None:
    """Bookings per phone number per day, inside the request's own transaction."""
    bump(session, f"booking:phone:{pseudonym(phone)}", limit=policy.phone_create_per_day,
         seconds=86400, now=now)
