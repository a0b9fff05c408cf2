"""End of day: when a site's services have all closed, close out unserved tickets and counters.

Nothing is deleted: every ticket still `waiting`, `called`, `serving` or `held` becomes
`closed_out` with a ticket event (note "tutup hari"), and open counters are closed. A site's day
is over a short grace period after the latest closing time of its active services that day
(site-local zone, special days included); a site with a service open round the clock closes its
day at midnight, so yesterday's leftovers are swept the next morning.

Each (site, day) is claimed once in `app_setting` with an atomic insert, so several workers
running the job never close the same day twice, and a counter an officer reopens after closing
time (overtime) is not closed again by the next run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Agency, Counter, Service, Setting, Site
from app.db.session import is_postgres, unit_of_work
from app.domain import hours
from app.domain.errors import NotFound
from app.services import tickets, webhooks
from app.services.context import Ctx, Principal
from app.services.sitetime import local_now, special_days
from app.services.unit_of_work import unit_of_work as work
from app.state import state_of

log = logging.getLogger(__name__)

# Officers finish the citizens already at their desk before the day is closed out.
GRACE = timedelta(minutes=30)
INTERVAL_SECONDS = 60.0
SYSTEM = Principal(kind="system", id=0, role="admin", name="end-of-day")


@dataclass
class DayClosed:
    site_id: int
    day: date
    tickets_closed: int
    counters_closed: int


def day_end(session: Session, site: Site, day: date) -> datetime | None:
    """Latest closing time of the site's active services on `day` (local), None = midnight."""
    special = special_days(session, site.id, day, days=1)
    latest: time | None = None
    services = session.scalars(
        sa.select(Service).join(Service.agency).where(
            Service.site_id == site.id, Service.is_active.is_(True), Agency.is_active.is_(True))
    )
    for service in services:
        if service.opening_hours is None and day not in special:
            return None
        for _, closes in hours.ranges_on(service.opening_hours, day, special):
            if closes == time.max:
                return None
            latest = closes if latest is None or closes > latest else latest
    if latest is None:
        # Nothing opens today (a holiday): the day is over from its start.
        latest = time(0)
    return datetime.combine(day, latest, tzinfo=ZoneInfo(site.timezone))


def is_day_over(session: Session, site: Site, now: datetime, grace: timedelta = GRACE) -> bool:
    lnow = local_now(site, now)
    end = day_end(session, site, lnow.date())
    return end is not None and lnow >= end + grace


def _key(site_id: int, day: date) -> str:
    return f"endofday.{site_id}.{day.isoformat()}"


def _claim(session: Session, site_id: int, day: date) -> bool:
    """Mark (site, day) as closed; False when another run already did."""
    dialect = postgresql if is_postgres(session) else sqlite
    stmt = (
        dialect.insert(Setting)
        .values(key=_key(site_id, day), value={"closed": True})
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(Setting.__table__.c.key)
    )
    return session.execute(stmt).first() is not None


def _open_counters(session: Session, site_id: int) -> list[Counter]:
    return list(session.scalars(
        sa.select(Counter).join(Counter.agency).where(
            Counter.is_open.is_(True), Agency.site_id == site_id)
    ).unique())


def close_day(ctx: Ctx, site: Site, *, day: date | None = None, claim: bool = True
              ) -> DayClosed:
    """Close out every unserved ticket of `day` (and earlier) and close the site's counters."""
    lday = local_now(site, ctx.now).date()
    day = day or lday
    if claim:
        _claim(ctx.session, site.id, day)
    # Tickets of `day` and any earlier day still left open (server down, say).
    closed = tickets.close_out(ctx, site_id=site.id, before_day=day + timedelta(days=1))
    counters = 0
    for counter in _open_counters(ctx.session, site.id):
        if day < lday and counter.opened_at is not None and \
                local_now(site, counter.opened_at).date() >= lday:
            continue  # opened this morning: a sweep of yesterday leaves it alone
        tickets.close_counter(ctx, counter)
        counters += 1
    ctx.session.flush()
    webhooks.enqueue_day_closed(ctx, site, day, tickets_closed=closed, counters_closed=counters)
    return DayClosed(site.id, day, closed, counters)


def close_site_day(ctx: Ctx, site_id: int) -> DayClosed:
    """An admin ends a site's day now (the button in admin), audited."""
    from app.services.config import audit
    from app.services.policy import require_role

    require_role(ctx.actor, "admin")
    site = ctx.session.get(Site, site_id)
    if site is None:
        raise NotFound("Lokasi", "Site")
    result = close_day(ctx, site)
    audit(ctx, "close_day", "site", site.id,
          {"day": result.day.isoformat(), "tickets_closed": result.tickets_closed,
           "counters_closed": result.counters_closed})
    return result


def due(session: Session, now: datetime, grace: timedelta = GRACE) -> list[tuple[Site, date]]:
    """(site, day) pairs whose day is over and not yet closed by an earlier run."""
    out: list[tuple[Site, date]] = []
    for site in session.scalars(sa.select(Site).where(Site.is_active.is_(True))):
        today = local_now(site, now).date()
        yesterday = today - timedelta(days=1)
        if is_day_over(session, site, now, grace):
            day = today
        else:
            day = yesterday
        # Yesterday is swept once in the morning even when it looks clean: checking for
        # leftovers would scan the site's whole history every minute instead of once a day.
        if session.get(Setting, _key(site.id, day)) is None:
            out.append((site, day))
    return out


def run_once(factory: sessionmaker[Session], now: datetime, *, bus: Any = None,
             grace: timedelta = GRACE) -> list[DayClosed]:
    """Close every due (site, day), one transaction each; publish events after each commit."""
    with unit_of_work(factory, write=False) as session:
        pending = [(s.id, d) for s, d in due(session, now, grace)]
    done: list[DayClosed] = []
    for site_id, day in pending:
        with work(factory, bus, now=now, actor=SYSTEM) as ctx:
            if not _claim(ctx.session, site_id, day):
                continue  # another process closes it (nothing written here)
            site = ctx.session.get(Site, site_id)
            assert site is not None
            result = close_day(ctx, site, day=day, claim=False)
        log.info("end of day: site %s day %s: %s tickets, %s counters closed", site_id, day,
                 result.tickets_closed, result.counters_closed)
        done.append(result)
    return done


async def loop(app: Any, interval: float = INTERVAL_SECONDS) -> None:
    """Run the job every `interval` seconds for as long as the app lives."""
    clock: Callable[[], datetime] = state_of(app).clock
    while True:
        try:
            await asyncio.to_thread(run_once, state_of(app).session_factory, clock(),
                                    bus=state_of(app).bus)
        except asyncio.CancelledError:
            raise
        except Exception:  # a failed run is retried next interval; the server keeps serving
            log.exception("end-of-day job failed")
        await asyncio.sleep(interval)


async def starter(app: Any) -> asyncio.Task[None] | None:
    """Started by app/jobs.py."""
    return asyncio.create_task(loop(app), name="mpp-end-of-day")
