"""Rate limits for the public endpoints, shared by every server process through the database.

Fixed windows: one row per (bucket, window start) in ``rate_limit_hit``, bumped with an atomic
upsert, so several uvicorn workers (or servers) behind one database count together. Over the
limit the request gets ``429 {"code": "rate_limited"}`` with a ``Retry-After`` header.

Counters run in their own short transaction, before the request's unit of work opens (declare
the dependency before ``CtxDep``): a refused or failing request still counts, and on SQLite the
two transactions never wait on each other.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime

from fastapi import Request
from sqlalchemy.orm import Session

from app.api.deps import client_ip
from app.services.booking import Policy, get_policy
from app.services.throttle import bump, cleanup, pseudonym  # noqa: F401 - used from here too


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
