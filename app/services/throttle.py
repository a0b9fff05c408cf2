"""Counting attempts in fixed windows, shared by every server process through the database.

One row per (bucket, window start) in `rate_limit_hit`, bumped with an atomic upsert, so
several workers (or servers) behind one database count together. Used by the public rate
limits (app/api/ratelimit.py) and by sign-in throttling (app/services/auth.py).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.db.models import RateLimitHit
from app.db.session import is_postgres
from app.domain.errors import DomainError


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


def hits(session: Session, bucket: str, *, seconds: int, now: datetime) -> tuple[int, int]:
    """How many hits the current window holds, and the seconds left in it."""
    start, remaining = _window(now, seconds)
    count = session.scalar(sa.select(RateLimitHit.hits).where(
        RateLimitHit.bucket == bucket[:160], RateLimitHit.window_start == start))
    return int(count or 0), remaining


def clear(session: Session, bucket: str) -> None:
    session.execute(sa.delete(RateLimitHit).where(RateLimitHit.bucket == bucket[:160]))
