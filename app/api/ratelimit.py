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
from collections.abc import Callable, Iterator
from datetime import datetime

from fastapi import Request
from sqlalchemy.orm import Session

from app.api.deps import client_ip
from app.domain import booking_limits
from app.domain.errors import DomainError, NotFound
from app.services.booking import Policy, get_policy
from app.services.throttle import bump, cleanup, hits, pseudonym  # noqa: F401 - used from here
from app.state import state_of


def _client(request: Request) -> str:
    return client_ip(request) or "unknown"


def limit_by_ip(name: str, pick: Callable[[Policy], tuple[int, int]]) -> Callable[[Request], None]:
    """A dependency: at most `limit` requests per `seconds` per client IP for this bucket."""

    def dependency(request: Request) -> None:
        state = state_of(request.app)
        now = state.clock()
        session: Session = state.session_factory()
        try:
            limit, seconds = pick(get_policy(session))
            try:
                bump(session, f"{name}:ip:{_client(request)}", limit=limit, seconds=seconds,
                     now=now)
            finally:
                # Counted even when refused, so hammering never resets the window.
                if random.random() < 0.01:  # noqa: S311 - sampling, not a secret
                    cleanup(session, now)
                session.commit()
        finally:
            session.close()

    dependency.__name__ = f"rate_limit_{name}"
    return dependency


# A random, HttpOnly cookie naming a browser (not a person): set by the booking and join pages,
# counted by the booking limits and the join's one-ticket-per-browser rule.
DEVICE_COOKIE = "mpp_holder"


def limit_booking_create(request: Request) -> None:
    """A dependency for `POST /api/v1/bookings`: counted per client address and per device
    cookie, each in a minute and an hour (app/domain/booking_limits.py), in one short
    transaction of its own before the request's."""
    state = state_of(request.app)
    now = state.clock()
    device = request.cookies.get(DEVICE_COOKIE)
    session: Session = state.session_factory()
    try:
        p = get_policy(session)
        windows = booking_limits.create_windows(
            ip_per_minute=p.ip_create_per_minute, ip_per_hour=p.ip_create_per_hour,
            device_per_minute=p.device_create_per_minute,
            device_per_hour=p.device_create_per_hour)
        keys = {"ip": _client(request), "device": pseudonym(device) if device else None}
        wait = 0
        for w in windows:
            if keys[w.scope] is None:
                continue
            try:
                bump(session, f"booking_create:{w.scope}:{w.seconds}:{keys[w.scope]}",
                     limit=w.limit, seconds=w.seconds, now=now)
            except DomainError as err:
                # Retry-After: until every full window has room again.
                wait = max(wait, int(err.params.get("seconds", 1)))
        # Counted even when refused, so hammering never resets the window.
        session.commit()
    finally:
        session.close()
    if wait:
        raise DomainError("rate_limited", seconds=wait)


def limit_phone(session: Session, phone: str, policy: Policy, now: datetime) -> None:
    """Bookings per phone number per day, inside the request's own transaction."""
    bump(session, f"booking:phone:{pseudonym(phone)}", limit=policy.phone_create_per_day,
         seconds=86400, now=now)


def misses_refused(request: Request, name: str) -> int | None:
    """Seconds the client must wait when its address used up this minute's misses for the
    `name` lookups (tracking, survey), else None. The HTML pages (/t/{code}, /survey/{code})
    ask this before they look a code up, and share the API's bucket."""
    state = state_of(request.app)
    limit = state.settings.lookup_misses_per_minute
    if limit <= 0:
        return None
    session: Session = state.session_factory()
    try:
        count, remaining = hits(session, f"{name}:miss:{_client(request)}", seconds=60,
                                now=state.clock())
    finally:
        session.close()
    return remaining if count >= limit else None


def record_miss(request: Request, name: str) -> None:
    """A lookup by a citizen's code that found nothing: count it against the address."""
    state = state_of(request.app)
    session: Session = state.session_factory()
    try:
        bump(session, f"{name}:miss:{_client(request)}", limit=2**31, seconds=60,
             now=state.clock())
        session.commit()
    finally:
        session.close()


def limit_misses(name: str) -> Callable[[Request], Iterator[None]]:
    """A dependency for lookups by a citizen's code (tracking, survey): a request that finds
    nothing (404) counts against the client address; over `lookup_misses_per_minute` the
    address is refused for the rest of the minute. Found codes never count, so a mall's Wi-Fi,
    where every phone shares one address, can poll its tickets as often as it likes, while
    guessing codes is slowed to a crawl."""

    def dependency(request: Request) -> Iterator[None]:
        remaining = misses_refused(request, name)
        if remaining is not None:
            raise DomainError("rate_limited", seconds=remaining)
        try:
            yield
        except NotFound:
            record_miss(request, name)
            raise

    dependency.__name__ = f"miss_limit_{name}"
    return dependency
