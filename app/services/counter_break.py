"""A counter on break ("istirahat"): still open and held by its officer, calling nobody.

While on break the counter does not count as open for waiting estimates and the dashboard,
the display board shows it on break, and each break is a counter_break row so statistics add
up break time. Friday prayer (salat Jumat) is a preset reason on the console.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.db.models import Counter, CounterBreak
from app.domain import events as ev
from app.domain.errors import DomainError, InvalidValue
from app.domain.events import Event
from app.services.context import Ctx
from app.services.sitetime import local_now
from app.services.tickets import current_ticket

FRIDAY_PRAYER = "Salat Jumat"
MAX_REASON = 200


def _changed(ctx: Ctx, counter: Counter) -> None:
    ctx.emit(Event(ev.COUNTER_CHANGED, counter.agency.site_id, {
        "counter_id": counter.id, "name": counter.name, "agency_id": counter.agency_id,
        "is_open": counter.is_open, "zone": counter.zone,
        "on_break": counter.break_since is not None, "break_reason": counter.break_reason,
    }))


def start_break(ctx: Ctx, counter: Counter, reason: str) -> Counter:
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        raise InvalidValue("reason", f"alasan istirahat wajib diisi (maks. {MAX_REASON} karakter)",
                           f"a break needs a reason (at most {MAX_REASON} characters)")
    if not counter.is_open:
        raise DomainError("counter_closed")
    busy = current_ticket(ctx.session, counter.id)
    if busy is not None:
        raise DomainError("counter_busy", number=busy.number)
    if counter.break_since is None:
        counter.break_since = ctx.now
        ctx.session.add(CounterBreak(counter_id=counter.id, site_id=counter.agency.site_id,
                                     agency_id=counter.agency_id,
                                     user_id=ctx.actor.user_id if ctx.actor else None,
                                     reason=reason, started_at=ctx.now))
    counter.break_reason = reason
    ctx.session.flush()
    _changed(ctx, counter)
    return counter


def end_break(ctx: Ctx, counter: Counter, *, emit: bool = True) -> Counter:
    if counter.break_since is None:
        return counter
    ctx.session.execute(sa.update(CounterBreak).where(
        CounterBreak.counter_id == counter.id, CounterBreak.ended_at.is_(None))
        .values(ended_at=ctx.now))
    counter.break_since = None
    counter.break_reason = None
    ctx.session.flush()
    if emit:
        _changed(ctx, counter)
    return counter


def break_seconds(session: Session, *, counter_ids: list[int] | None = None,
                  site_id: int | None = None, start: datetime, end: datetime,
                  now: datetime) -> dict[int, int]:
    """Seconds on break per counter within [start, end) (a break still running counts to now)."""
    stmt = sa.select(CounterBreak.counter_id, CounterBreak.started_at, CounterBreak.ended_at
                     ).where(CounterBreak.started_at < end,
                             sa.or_(CounterBreak.ended_at.is_(None),
                                    CounterBreak.ended_at > start))
    if counter_ids is not None:
        stmt = stmt.where(CounterBreak.counter_id.in_(counter_ids))
    if site_id is not None:
        stmt = stmt.where(CounterBreak.site_id == site_id)
    out: dict[int, int] = {}
    for cid, s, e in session.execute(stmt):
        a, b = max(s, start), min(e or now, end, now)
        if b > a:
            out[cid] = out.get(cid, 0) + int((b - a).total_seconds())
    return out


def day_bounds(counter: Counter, now: datetime) -> tuple[datetime, datetime]:
    """The site-local day around `now`, as aware datetimes."""
    lnow = local_now(counter.agency.site, now)
    start = datetime.combine(lnow.date(), time.min, tzinfo=lnow.tzinfo)
    return start, start + timedelta(days=1)


def console_view(session: Session, counter: Counter, now: datetime) -> dict[str, Any]:
    start, end = day_bounds(counter, now)
    today = break_seconds(session, counter_ids=[counter.id], start=start, end=end, now=now)
    return {"on_break": counter.break_since is not None, "reason": counter.break_reason,
            "since": counter.break_since.isoformat() if counter.break_since else None,
            "seconds_today": today.get(counter.id, 0)}


def site_day_breaks(session: Session, site_id: int, day: date, tz: Any,
                    now: datetime) -> dict[int, int]:
    start = datetime.combine(day, time.min, tzinfo=tz)
    return break_seconds(session, site_id=site_id, start=start, end=start + timedelta(days=1),
                         now=now)
