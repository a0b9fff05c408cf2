"""The manager's live board: today's queue per agency and service, with long-wait alerts.

Every query is bounded to one site and today's site-local day (ticket.site_id/day and
ticket_event.site_id/day indexes), so the cost does not grow with years of history.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.db.models import Agency, Counter, Service, Setting, Site, Ticket, TicketEvent
from app.db.models import counter_service as cs
from app.domain.errors import DomainError, InvalidValue, NotFound
from app.services.context import Ctx, Principal
from app.services.policy import agency_ids_in_scope, require_role, site_ids_in_scope
from app.services.sitetime import local_now

ALERTS_KEY = "dashboard_alerts"
DEFAULT_ALERT_MINUTES = 30
E = TicketEvent.__table__.c
T = Ticket.__table__.c


# --- alert thresholds -----------------------------------------------------------------------


def get_thresholds(session: Session) -> dict[str, Any]:
    """{"default_minutes": int, "services": {"<service id>": minutes}}."""
    row = session.get(Setting, ALERTS_KEY)
    value = row.value if row is not None and isinstance(row.value, dict) else {}
    return {"default_minutes": int(value.get("default_minutes") or DEFAULT_ALERT_MINUTES),
            "services": {str(k): int(v) for k, v in (value.get("services") or {}).items()}}


def _minutes(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 600:
        raise InvalidValue(field, "harus 1-600 menit", "must be 1-600 minutes")
    return value


def read_thresholds(ctx: Ctx) -> dict[str, Any]:
    require_role(ctx.actor, "admin", "manager")
    return get_thresholds(ctx.session)


def set_thresholds(ctx: Ctx, *, default_minutes: int | None,
                   services: dict[int, int | None] | None) -> dict[str, Any]:
    """Managers set thresholds of services in their scope; only admins change the default."""
    actor = require_role(ctx.actor, "admin", "manager")
    from app.services.config import audit

    session = ctx.session
    current = get_thresholds(session)
    if default_minutes is not None:
        if actor.role != "admin":
            raise DomainError("forbidden")
        current["default_minutes"] = _minutes(default_minutes, "default_minutes")
    scope = agency_ids_in_scope(session, actor)
    for sid, minutes in (services or {}).items():
        service = session.get(Service, sid)
        if service is None:
            raise NotFound("Layanan", "Service")
        if scope is not None and service.agency_id not in scope:
            raise DomainError("forbidden")
        if minutes is None:
            current["services"].pop(str(sid), None)
        else:
            current["services"][str(sid)] = _minutes(minutes, f"services.{sid}")
    row = session.get(Setting, ALERTS_KEY)
    if row is None:
        session.add(Setting(key=ALERTS_KEY, value=current))
    else:
        row.value = current
    session.flush()
    audit(ctx, "update", "setting", None, {"key": ALERTS_KEY, **current})
    return current


# --- live board -----------------------------------------------------------------------------


def resolve_site(session: Session, actor: Principal | None, site_id: int | None) -> Site:
    """The site the board shows: the one asked for (if visible), else the actor's first."""
    actor = require_role(actor, "admin", "manager")
    sites = site_ids_in_scope(session, actor)
    if site_id is None:
        stmt = sa.select(Site).where(Site.is_active.is_(True)).order_by(Site.id)
        if sites is not None:
            stmt = stmt.where(Site.id.in_(sorted(sites)))
        site = session.scalars(stmt).first()
    else:
        site = session.get(Site, site_id)
        if site is not None and sites is not None and site.id not in sites:
            raise DomainError("forbidden")
    if site is None:
        raise NotFound("Lokasi", "Site")
    return site


def visible_agencies(session: Session, actor: Principal, site: Site) -> list[Agency]:
    scope = agency_ids_in_scope(session, actor)
    stmt = (sa.select(Agency).where(Agency.site_id == site.id, Agency.is_active.is_(True))
            .order_by(Agency.code))
    if scope is not None:
        stmt = stmt.where(Agency.id.in_(sorted(scope)))
    return list(session.scalars(stmt))


def snapshot(session: Session, actor: Principal, site: Site, now: datetime) -> dict[str, Any]:
    """What the board shows now; oldest waiting times let the page tick waits between updates."""
    lnow = local_now(site, now)
    day = lnow.date()
    agencies = visible_agencies(session, actor, site)
    agency_ids = [a.id for a in agencies]
    services = list(session.scalars(
        sa.select(Service).where(Service.agency_id.in_(agency_ids), Service.is_active.is_(True))
        .order_by(Service.prefix)))
    queue: dict[int, dict[str, Any]] = {}
    for sid, status, n, oldest in session.execute(
        sa.select(T.service_id, T.status, sa.func.count(), sa.func.min(T.issued_at))
        .where(T.site_id == site.id, T.day == day, T.agency_id.in_(agency_ids),
               T.status.in_(("waiting", "called", "serving", "held")))
        .group_by(T.service_id, T.status)
    ):
        q = queue.setdefault(sid, {"waiting": 0, "in_service": 0, "held": 0, "oldest": None})
        if status == "waiting":
            q["waiting"] += int(n)
            # SQLite hands back naive UTC from an aggregate; the column type is bypassed.
            q["oldest"] = _aware(oldest)
        elif status == "held":
            q["held"] += int(n)
        else:
            q["in_service"] += int(n)
    counts: dict[int, dict[str, Any]] = {}
    d = E.duration_seconds
    for row in session.execute(
        sa.select(
            E.service_id,
            sa.func.count().filter(E.type == "issued").label("issued"),
            sa.func.count().filter(E.type == "finished").label("served"),
            sa.func.count().filter(E.type == "no_show").label("no_show"),
            sa.func.count().filter(E.type == "transferred").label("transferred"),
            sa.func.count().filter(sa.and_(E.type == "issued", E.priority.is_(True)))
            .label("priority"),
            sa.func.count().filter(sa.and_(E.type == "called", d.is_not(None)))
            .label("first_calls"),
            sa.func.avg(d).filter(sa.and_(E.type == "called", d.is_not(None))).label("wait"),
            sa.func.avg(d).filter(sa.and_(E.type == "finished", d.is_not(None)))
            .label("service"),
        ).where(E.site_id == site.id, E.day == day, E.agency_id.in_(agency_ids))
        .group_by(E.service_id)
    ):
        counts[row.service_id] = dict(row._mapping)
    open_by_service: dict[int, set[int]] = defaultdict(set)
    open_by_agency: dict[int, set[int]] = defaultdict(set)
    counters_by_agency: dict[int, set[int]] = defaultdict(set)
    for cid, sid, aid, is_open in session.execute(
        sa.select(Counter.id, cs.c.service_id, Counter.agency_id,
                  Counter.is_open & Counter.break_since.is_(None))
        .outerjoin(cs, cs.c.counter_id == Counter.id)
        .where(Counter.agency_id.in_(agency_ids), Counter.is_active.is_(True))
    ):
        counters_by_agency[aid].add(cid)
        if is_open:
            open_by_agency[aid].add(cid)
            if sid is not None:
                open_by_service[sid].add(cid)
    thresholds = get_thresholds(session)
    alerts = []
    unserved = []
    by_agency: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for s in services:
        q = queue.get(s.id, {"waiting": 0, "in_service": 0, "held": 0, "oldest": None})
        c = counts.get(s.id, {})
        longest = int((now - q["oldest"]).total_seconds()) if q["oldest"] else 0
        limit = thresholds["services"].get(str(s.id), thresholds["default_minutes"])
        row = {
            "id": s.id, "prefix": s.prefix, "name": s.name, "agency_id": s.agency_id,
            "waiting": q["waiting"], "in_service": q["in_service"], "held": q["held"],
            "oldest_waiting_since": q["oldest"].isoformat() if q["oldest"] else None,
            "longest_wait_seconds": max(0, longest),
            "open_counters": len(open_by_service.get(s.id, ())),
            "issued": int(c.get("issued") or 0), "served": int(c.get("served") or 0),
            "no_shows": int(c.get("no_show") or 0), "transfers": int(c.get("transferred") or 0),
            "priority": int(c.get("priority") or 0),
            "avg_wait_seconds": _round(c.get("wait")),
            "avg_service_seconds": _round(c.get("service")),
            "alert_minutes": limit,
            "daily_quota": s.daily_quota,
        }
        row["alert"] = q["oldest"] is not None and longest >= limit * 60
        if row["alert"]:
            alerts.append({"service_id": s.id, "prefix": s.prefix, "name": s.name,
                           "longest_wait_seconds": longest, "alert_minutes": limit})
        # Citizens wait and no open counter (off break) serves them: nobody will call them.
        row["unserved"] = q["waiting"] > 0 and row["open_counters"] == 0
        if row["unserved"]:
            unserved.append({"service_id": s.id, "prefix": s.prefix, "name": s.name,
                             "waiting": q["waiting"]})
        by_agency[s.agency_id].append(row)
    out_agencies = []
    for a in agencies:
        rows = by_agency.get(a.id, [])
        served = sum(r["served"] for r in rows)
        out_agencies.append({
            "id": a.id, "code": a.code, "name": a.name, "floor": a.floor,
            "waiting": sum(r["waiting"] for r in rows),
            "longest_wait_seconds": max((r["longest_wait_seconds"] for r in rows), default=0),
            "open_counters": len(open_by_agency.get(a.id, ())),
            "counters": len(counters_by_agency.get(a.id, ())),
            "issued": sum(r["issued"] for r in rows), "served": served,
            "no_shows": sum(r["no_shows"] for r in rows),
            "avg_wait_seconds": _weighted(rows, "avg_wait_seconds", counts, "first_calls"),
            "avg_service_seconds": _weighted(rows, "avg_service_seconds", counts, "served"),
            "alert": any(r["alert"] for r in rows),
            "services": rows,
        })
    return {
        "type": "snapshot",
        "site": {"id": site.id, "code": site.code, "name": site.name, "timezone": site.timezone},
        "now": lnow.isoformat(), "day": day.isoformat(),
        "thresholds": thresholds,
        "totals": {
            "waiting": sum(a["waiting"] for a in out_agencies),
            "served": sum(a["served"] for a in out_agencies),
            "issued": sum(a["issued"] for a in out_agencies),
            "no_shows": sum(a["no_shows"] for a in out_agencies),
            "open_counters": sum(a["open_counters"] for a in out_agencies),
            "bookings": _bookings_today(session, site, day, agency_ids, now),
            "integration": _integration_today(session, actor, site, day, agency_ids),
        },
        "alerts": sorted(alerts, key=lambda x: -x["longest_wait_seconds"]),
        "unserved": sorted(unserved, key=lambda x: -x["waiting"]),
        "agencies": out_agencies,
    }


def _integration_today(session: Session, actor: Principal, site: Site, day: Any,
                       agency_ids: list[int]) -> dict[str, Any]:
    """Visits that used more than one agency on one ticket (app/services/visit_stats.py)."""
    from app.services.policy import agency_ids_in_scope
    from app.services.visit_stats import integration_today

    scoped = agency_ids if agency_ids_in_scope(session, actor) is not None else None
    return integration_today(session, site.id, day, scoped)


def _bookings_today(session: Session, site: Site, day: Any, agency_ids: list[int],
                    now: datetime) -> dict[str, int]:
    from app.services.booking import booking_counts

    return booking_counts(session, site.id, day, day, now=now, agency_ids=set(agency_ids))


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        from datetime import UTC

        value = value.replace(tzinfo=UTC)
    return value


def _round(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


def _weighted(rows: list[dict[str, Any]], field: str, counts: dict[int, dict[str, Any]],
              weight: str) -> float | None:
    """An agency's average from its services' averages, weighted by how many they cover."""
    total = 0.0
    n = 0
    for r in rows:
        if r[field] is None:
            continue
        w = int(counts.get(r["id"], {}).get(weight) or 0)
        total += r[field] * w
        n += w
    return round(total / n, 1) if n else None
