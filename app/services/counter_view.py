"""What a counter console shows: its current ticket, its queue, held tickets, today's figures."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.db.models import Counter, Ticket, TicketEvent
from app.services import config
from app.services.context import Ctx
from app.services.policy import STAFF_ROLES, require_role
from app.services.sitetime import local_now
from app.services.tickets import current_ticket


def _ticket_row(t: Ticket, now: datetime) -> dict[str, Any]:
    return {
        "id": t.id, "number": t.number, "status": t.status, "service_id": t.service_id,
        "service": t.service.name, "priority": t.priority, "channel": t.channel,
        "issued_at": t.issued_at.isoformat(),
        "waiting_minutes": max(0, int((now - t.issued_at).total_seconds() // 60)),
        "called_at": t.called_at.isoformat() if t.called_at else None,
        # The console shows how long the citizen waited before the first call.
        "first_called_at": t.first_called_at.isoformat() if t.first_called_at else None,
        "started_at": t.started_at.isoformat() if t.started_at else None,
        "call_count": t.call_count, "note": t.note,
    }


def _with_origin(session: Session, rows: list[dict[str, Any]], tickets: list[Ticket]
                 ) -> list[dict[str, Any]]:
    """A transferred ticket says where it came from: the number, service and counter."""
    from app.db.models import Counter as C
    from app.db.models import Service

    ids = {t.transferred_from_id for t in tickets if t.transferred_from_id is not None}
    if not ids:
        return rows
    origin = {r.id: r for r in session.execute(
        sa.select(Ticket.id, Ticket.number, Service.name.label("service"),
                  C.name.label("counter"))
        .join(Service, Service.id == Ticket.service_id)
        .outerjoin(C, C.id == Ticket.counter_id)
        .where(Ticket.id.in_(ids)))}
    for row, t in zip(rows, tickets, strict=True):
        o = origin.get(t.transferred_from_id) if t.transferred_from_id else None
        row["transferred_from"] = ({"number": o.number, "service": o.service,
                                    "counter": o.counter} if o is not None else None)
    return rows


def _break(session: Session, counter: Counter, now: datetime) -> dict[str, Any]:
    from app.services.counter_break import console_view

    return console_view(session, counter, now)


def _with_steps(session: Session, row: dict[str, Any], t: Ticket) -> dict[str, Any]:
    """The current ticket's whole visit (steps of several services), for the visit panel."""
    from app.services.visits import steps_view

    row["steps"] = steps_view(session, t, names=True)
    return row


def _officer_name(session: Session, user_id: int | None) -> str | None:
    """Staff name for "in use by ..." (staff screens only; never on public screens)."""
    if user_id is None:
        return None
    from app.db.models import User

    user = session.get(User, user_id)
    return (user.full_name or user.username) if user else None


def console(ctx: Ctx, counter_id: int) -> dict[str, Any]:
    """What a counter's console shows now, for staff who may see that counter."""
    require_role(ctx.actor, *STAFF_ROLES)
    counter = config.get_counter(ctx, counter_id)
    return counter_snapshot(ctx.session, counter, ctx.now)


def counter_snapshot(session: Session, counter: Counter, now: datetime, limit: int = 15
                     ) -> dict[str, Any]:
    site = counter.agency.site
    day = local_now(site, now).date()
    service_ids = [s.id for s in counter.services if s.is_active]
    t = Ticket.__table__.c
    waiting_q = (sa.select(Ticket).where(t.service_id.in_(service_ids), t.day == day,
                                         t.status == "waiting"))
    # Priority tickets first, then by queue time: the order call-next follows.
    head = list(session.scalars(waiting_q.order_by(t.priority.is_(None), t.sort_at, t.id)
                                .limit(limit)))
    waiting_count = session.scalar(
        sa.select(sa.func.count()).where(t.service_id.in_(service_ids), t.day == day,
                                         t.status == "waiting")) or 0
    held = list(session.scalars(sa.select(Ticket).where(
        t.counter_id == counter.id, t.day == day, t.status == "held").order_by(t.id)))
    e = TicketEvent.__table__.c
    served, avg_seconds = session.execute(
        sa.select(sa.func.count(), sa.func.avg(e.duration_seconds)).where(
            e.counter_id == counter.id, e.day == day, e.type == "finished")).one()
    cur = current_ticket(session, counter.id)
    return {
        "type": "snapshot",
        "counter": {
            "id": counter.id, "number": counter.number, "name": counter.name,
            "agency_id": counter.agency_id, "agency": counter.agency.name,
            "is_open": counter.is_open, "officer_id": counter.officer_id,
            "officer": _officer_name(session, counter.officer_id),
            "services": [{"id": s.id, "name": s.name, "prefix": s.prefix}
                         for s in counter.services if s.is_active],
        },
        "current": (_with_origin(session, [_with_steps(session, _ticket_row(cur, now), cur)],
                                 [cur])[0] if cur else None),
        "waiting_count": int(waiting_count),
        "waiting": _with_origin(session, [_ticket_row(x, now) for x in head], head),
        "held": [_ticket_row(x, now) for x in held],
        "served_today": int(served or 0),
        "avg_service_minutes": round(float(avg_seconds) / 60, 1) if avg_seconds else None,
        "break": _break(session, counter, now),
        "now": now.isoformat(),
    }
