"""Statistics of visits with several services (integrasi layanan), from visit_step rows.

A visit is a ticket: one issued at the kiosk (or a booking's check-in), not a transfer's new
ticket. Counts come from SQL over the period's steps (index (site_id, day)); the durations of a
visit and between its steps are summarised by the domain's rules (app/domain/visits.py).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.db.models import ServicePackage, Ticket, VisitStep
from app.domain import visits as dv
from app.domain.reporting import duration_summary
from app.services.stats import Scope

_OPEN_OR_RAN = ("pending", "current", "done", "no_show", "closed_out", "transferred")


def _minutes(summary: dict[str, Any]) -> dict[str, Any]:
    """duration_summary (seconds) in minutes, one decimal."""
    return {k: (round(v / 60, 1) if isinstance(v, float) and k != "count" else v)
            for k, v in summary.items()}


def visit_summary(session: Session, scope: Scope) -> dict[str, Any]:
    """Visits in the period: how many, how many used several services and several agencies
    (the MPP's integration figure), steps per visit, the whole visit's time (first issue to
    the last step done) and the time between steps; the same per service package."""
    t = Ticket.__table__.c
    site_cond = t.site_id.in_(scope.site_ids)
    visits_total = int(session.scalar(
        sa.select(sa.func.count()).where(site_cond, t.day >= scope.start, t.day <= scope.end,
                                         t.channel != "transfer")) or 0)
    v = VisitStep.__table__.c
    rows = session.execute(
        sa.select(v.ticket_id, v.position, v.agency_id, v.status, v.package_id, v.queued_at,
                  v.called_at, v.finished_at, t.issued_at)
        .join(Ticket.__table__, t.id == v.ticket_id)
        .where(v.site_id.in_(scope.site_ids), v.day >= scope.start, v.day <= scope.end,
               v.status.in_(_OPEN_OR_RAN))
        .order_by(v.ticket_id, v.position)).all()
    by_ticket: dict[int, list[Any]] = defaultdict(list)
    for r in rows:
        by_ticket[r.ticket_id].append(r)
    if scope.agency_ids is not None:
        by_ticket = {k: s for k, s in by_ticket.items()
                     if any(r.agency_id in scope.agency_ids for r in s)}
    names = {p.id: p.name for p in session.scalars(sa.select(ServicePackage).where(
        ServicePackage.site_id.in_(scope.site_ids)))}

    def figures(group: list[list[Any]]) -> dict[str, Any]:
        multi = [s for s in group if len(s) > 1]
        agencies = [s for s in multi if len({r.agency_id for r in s}) > 1]
        whole: list[float] = []
        gaps: list[float] = []
        for s in multi:
            times = [dv.StepTimes(r.queued_at, r.called_at, r.finished_at) for r in s]
            done = all(r.status == "done" for r in s)
            minutes = dv.visit_minutes(s[0].issued_at, times) if done else None
            if minutes is not None:
                whole.append(minutes * 60)
            gaps.extend(g * 60 for g in dv.gaps_minutes(times))
        return {
            "visits": len(multi), "multi_agency_visits": len(agencies),
            "completed": len(whole), "steps": sum(len(s) for s in multi),
            "steps_per_visit": round(sum(len(s) for s in multi) / len(multi), 2) if multi
            else None,
            "visit_minutes": _minutes(duration_summary(whole)),
            "between_steps_minutes": _minutes(duration_summary(gaps)),
        }

    all_steps = list(by_ticket.values())
    out = figures(all_steps)
    multi_agency = out["multi_agency_visits"]
    out.update({
        "from": scope.start.isoformat(), "to": scope.end.isoformat(),
        "all_visits": visits_total,
        # The integration figure: the share of the period's visits that used more than one
        # agency on one ticket.
        "multi_agency_share": round(multi_agency / visits_total, 4) if visits_total else None,
    })
    by_pkg: dict[int | None, list[list[Any]]] = defaultdict(list)
    for s in all_steps:
        if len(s) > 1:
            by_pkg[s[0].package_id].append(s)
    out["by_package"] = [
        {"package_id": pid, "package": names.get(pid) if pid is not None else None,
         **figures(group)}
        for pid, group in sorted(by_pkg.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))]
    return out


def integration_today(session: Session, site_id: int, day: Any,
                      agency_ids: list[int] | None = None) -> dict[str, Any]:
    """The dashboard's integration figure for a day, in two counting statements: visits on
    several services, those over more than one agency, and the day's visits in all."""
    t = Ticket.__table__.c
    v = VisitStep.__table__.c
    conds = [v.site_id == site_id, v.day == day, v.status.in_(_OPEN_OR_RAN)]
    per = (sa.select(v.ticket_id, sa.func.count().label("n"),
                     sa.func.count(sa.distinct(v.agency_id)).label("agencies"))
           .where(*conds).group_by(v.ticket_id))
    if agency_ids is not None:
        per = per.having(sa.func.max(sa.case((v.agency_id.in_(agency_ids), 1), else_=0)) == 1)
    sub = per.subquery()
    several, agencies = session.execute(sa.select(
        sa.func.count().filter(sub.c.n > 1), sa.func.count().filter(sub.c.agencies > 1))).one()
    total_conds = [t.site_id == site_id, t.day == day, t.channel != "transfer"]
    if agency_ids is not None:
        total_conds.append(t.agency_id.in_(agency_ids))
    total = int(session.scalar(sa.select(sa.func.count()).where(*total_conds)) or 0)
    return {"visits": total, "several_services": int(several or 0),
            "multi_agency": int(agencies or 0),
            "multi_agency_share": round(int(agencies or 0) / total, 4) if total else None}
