"""What the kiosk shows: agencies, services, open/closed, waiting, quota and estimates."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.db.models import (
    Agency,
    Counter,
    Service,
    ServiceDay,
    Site,
    Ticket,
    TicketEvent,
    counter_service,
)
from app.domain import hours, waiting
from app.domain.errors import NotFound
from app.domain.priority import groups_for
from app.services.sitetime import local_now, special_days


@dataclass
class ServiceState:
    service: Service
    is_open: bool
    next_opening: datetime | None
    waiting: int
    quota_left: int | None
    open_counters: int
    estimated_wait_minutes: int
    counters_assigned: int = 0


@dataclass
class AgencyEntry:
    agency: Agency
    services: list[ServiceState] = field(default_factory=list)


def resolve_site(session: Session, site_id: int | None = None, site_code: str | None = None
                 ) -> Site:
    if site_id is not None:
        site = session.get(Site, site_id)
    elif site_code is not None:
        site = session.scalar(sa.select(Site).where(Site.code == site_code))
    else:
        site = session.scalar(sa.select(Site).where(Site.is_active.is_(True)).order_by(Site.id))
    if site is None or not site.is_active:
        raise NotFound("Lokasi", "Site")
    return site


def waiting_counts(session: Session, site_id: int, day: date) -> dict[int, int]:
    t = Ticket.__table__.c
    rows = session.execute(
        sa.select(t.service_id, sa.func.count())
        .where(t.site_id == site_id, t.day == day, t.status == "waiting")
        .group_by(t.service_id)
    )
    return {sid: n for sid, n in rows}


def open_counters_by_service(session: Session, service_ids: list[int]) -> dict[int, int]:
    rows = session.execute(
        sa.select(counter_service.c.service_id, sa.func.count())
        .select_from(counter_service.join(Counter, Counter.id == counter_service.c.counter_id))
        .where(counter_service.c.service_id.in_(service_ids), Counter.is_open.is_(True),
               Counter.break_since.is_(None))  # on break: calls nobody
        .group_by(counter_service.c.service_id)
    )
    return {sid: n for sid, n in rows}


def assigned_counters_by_service(session: Session, service_ids: list[int]) -> dict[int, int]:
    """Active counters configured to serve each service, open or not."""
    rows = session.execute(
        sa.select(counter_service.c.service_id, sa.func.count())
        .select_from(counter_service.join(Counter, Counter.id == counter_service.c.counter_id))
        .where(counter_service.c.service_id.in_(service_ids), Counter.is_active.is_(True))
        .group_by(counter_service.c.service_id)
    )
    return {sid: n for sid, n in rows}


def recent_minutes_by_service(session: Session, site_id: int, day: date, per_service: int = 20
                              ) -> dict[int, list[float]]:
    e = TicketEvent.__table__.c
    rows = session.execute(
        sa.select(e.service_id, e.duration_seconds)
        .where(e.site_id == site_id, e.day == day, e.type == "finished",
               e.duration_seconds.is_not(None))
        .order_by(e.id.desc())
    )
    out: dict[int, list[float]] = defaultdict(list)
    for sid, secs in rows:
        if len(out[sid]) < per_service:
            out[sid].append(secs / 60)
    return out


def catalog(session: Session, site: Site, now: datetime) -> list[AgencyEntry]:
    lnow = local_now(site, now)
    day = lnow.date()
    special = special_days(session, site.id, day)
    agencies = list(session.scalars(
        sa.select(Agency).where(Agency.site_id == site.id, Agency.is_active.is_(True))
        .order_by(Agency.id)
    ))
    services = list(session.scalars(
        sa.select(Service).where(Service.site_id == site.id, Service.is_active.is_(True))
        .order_by(Service.agency_id, Service.id)
    ))
    ids = [s.id for s in services]
    counts = waiting_counts(session, site.id, day)
    used = dict(session.execute(
        sa.select(ServiceDay.service_id, ServiceDay.quota_used)
        .where(ServiceDay.day == day, ServiceDay.service_id.in_(ids))
    ).all())
    open_counters = open_counters_by_service(session, ids)
    assigned = assigned_counters_by_service(session, ids)
    recent = recent_minutes_by_service(session, site.id, day)
    entries = {a.id: AgencyEntry(a) for a in agencies}
    for s in services:
        if s.agency_id not in entries:
            continue
        is_open = hours.is_open(s.opening_hours, lnow, special)
        nxt = None if is_open else hours.next_opening(s.opening_hours, lnow, special)
        n_wait = counts.get(s.id, 0)
        avg = waiting.average_service_minutes(recent.get(s.id, []), float(s.typical_minutes))
        quota_left = None
        if s.daily_quota is not None:
            limit = s.daily_quota
            if s.booking_enabled:
                from app.services.booking import walkin_quota_limit

                # Places held for online bookings are not a walk-in's to take.
                limit = walkin_quota_limit(session, s, site, day, now, lock=False) or 0
            quota_left = max(0, limit - used.get(s.id, 0))
        entries[s.agency_id].services.append(ServiceState(
            service=s, is_open=is_open, next_opening=nxt, waiting=n_wait, quota_left=quota_left,
            open_counters=open_counters.get(s.id, 0),
            counters_assigned=assigned.get(s.id, 0),
            estimated_wait_minutes=waiting.estimate_wait_minutes(
                n_wait, open_counters.get(s.id, 0), avg),
        ))
    return [e for e in entries.values() if e.services]


def public_service(state: ServiceState) -> dict[str, Any]:
    s = state.service
    return {
        "id": s.id, "code": s.code, "name": s.name, "prefix": s.prefix,
        "is_open": state.is_open,
        "next_opening": state.next_opening.isoformat() if state.next_opening else None,
        "waiting": state.waiting, "quota_left": state.quota_left,
        "daily_quota": s.daily_quota, "open_counters": state.open_counters,
        # No counter serves it yet / none open now: the kiosk says so instead of an estimate.
        "counters_assigned": state.counters_assigned,
        "estimated_wait_minutes": state.estimated_wait_minutes,
        "typical_minutes": s.typical_minutes, "requirements": s.requirements,
        "procedure": s.procedure, "completion_time": s.completion_time, "fee": s.fee,
        "product": s.product, "complaints": s.complaints,
        "booking_enabled": s.booking_enabled,
        "priority_groups": [g.value for g in groups_for(sick=s.priority_sick)],
        # A ticket needs a phone confirmed by a one-time code: the kiosk asks for both.
        "requires_phone_otp": s.requires_phone_otp,
    }
