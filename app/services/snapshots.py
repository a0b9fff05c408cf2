"""What a screen shows right now: the snapshot a websocket client gets on (re)connect."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.db.models import Agency, Counter, DisplayBoard, Service, Site, Ticket, TicketEvent
from app.domain.errors import NotFound
from app.services.catalog import waiting_counts
from app.services.sitetime import local_now


@dataclass(frozen=True)
class BoardFilter:
    """Which part of the mall a screen shows: a site, optionally a zone or some agencies."""

    site_id: int
    zone: str | None = None
    agency_ids: frozenset[int] | None = None

    def matches(self, site_id: int, data: dict[str, Any]) -> bool:
        if site_id != self.site_id:
            return False
        if self.agency_ids is not None:
            ids = {data.get("agency_id"), data.get("to_agency_id")}
            if not ids & self.agency_ids:
                return False
        if self.zone is not None and data.get("zone") not in (None, self.zone):
            return False
        return True


def board_filter(session: Session, *, site_id: int | None, zone: str | None,
                 agency_id: int | None, board_id: int | None) -> tuple[BoardFilter, Any]:
    board = None
    if board_id is not None:
        board = session.get(DisplayBoard, board_id)
        if board is None or not board.is_active:
            raise NotFound("Papan", "Board")
        ids = frozenset(board.agency_ids) if board.agency_ids else None
        return BoardFilter(board.site_id, board.zone, ids), board
    if site_id is None:
        site_id = session.scalar(sa.select(Site.id).where(Site.is_active.is_(True))
                                 .order_by(Site.id))
        if site_id is None:
            raise NotFound("Lokasi", "Site")
    elif session.get(Site, site_id) is None:
        raise NotFound("Lokasi", "Site")
    ids = frozenset({agency_id}) if agency_id is not None else None
    return BoardFilter(site_id, zone, ids), None


def display_snapshot(session: Session, flt: BoardFilter, now: datetime, board: Any = None,
                     last_calls: int = 10) -> dict[str, Any]:
    site = session.get(Site, flt.site_id)
    assert site is not None
    lnow = local_now(site, now)
    day = lnow.date()
    agencies = {
        a.id: a for a in session.scalars(
            sa.select(Agency).where(Agency.site_id == site.id, Agency.is_active.is_(True)))
        if (flt.agency_ids is None or a.id in flt.agency_ids)
    }
    counters_q = sa.select(Counter).where(Counter.agency_id.in_(list(agencies)),
                                          Counter.is_active.is_(True))
    counters = [c for c in session.scalars(counters_q)
                if flt.zone is None or (c.zone or agencies[c.agency_id].zone) in (None, flt.zone)]
    counter_ids = [c.id for c in counters]
    current = {
        t.counter_id: t for t in session.scalars(
            sa.select(Ticket).where(Ticket.counter_id.in_(counter_ids), Ticket.day == day,
                                    Ticket.status.in_(("called", "serving"))))
    }
    e = TicketEvent.__table__.c
    recent = session.execute(
        sa.select(e.ticket_id, e.counter_id, e.at, e.type)
        .where(e.site_id == site.id, e.day == day, e.type.in_(("called", "recalled")),
               e.counter_id.in_(counter_ids))
        .order_by(e.id.desc()).limit(last_calls)
    ).all()
    numbers = dict(session.execute(
        sa.select(Ticket.id, Ticket.number).where(Ticket.id.in_([r[0] for r in recent]))).all())
    by_id = {c.id: c for c in counters}
    services = _board_services(session, flt, agencies, counters)
    counts = waiting_counts(session, site.id, day)
    return {
        "type": "snapshot",
        "site": {"id": site.id, "code": site.code, "name": site.name, "timezone": site.timezone},
        "board": {"id": board.id, "name": board.name, "layout": board.layout,
                  "running_text": board.running_text} if board is not None else None,
        "now": lnow.isoformat(),
        "counters": [
            {
                "id": c.id, "number": c.number, "name": c.name,
                "agency": agencies[c.agency_id].name,
                "agency_id": c.agency_id, "is_open": c.is_open,
                # On break ("istirahat"): the board says so; the reason stays on staff screens.
                "on_break": c.break_since is not None,
                "ticket": current[c.id].number if c.id in current else None,
                "status": current[c.id].status if c.id in current else None,
            }
            for c in sorted(counters, key=lambda c: (agencies[c.agency_id].code, c.number))
        ],
        "last_calls": [
            {"number": numbers.get(tid), "counter": str(by_id[cid].number),
             "counter_name": by_id[cid].name, "agency": agencies[by_id[cid].agency_id].name,
             "at": at.isoformat(), "recall": typ == "recalled"}
            for tid, cid, at, typ in recent if cid in by_id
        ],
        "waiting": [
            {"service_id": s.id, "prefix": s.prefix, "name": s.name,
             "agency": agencies[s.agency_id].name, "waiting": counts.get(s.id, 0)}
            for s in services
        ],
    }


def _board_services(session: Session, flt: BoardFilter, agencies: dict[int, Agency],
                    counters: list[Counter]) -> list[Service]:
    """The services a board lists waiting counts for.

    A zone board lists what its counters serve, plus services of the zone's agencies that no
    counter serves yet: a zone-B board never shows zone-A queues.
    """
    rows = [s for s in session.scalars(
        sa.select(Service).where(Service.site_id == flt.site_id, Service.is_active.is_(True))
        .order_by(Service.prefix)) if s.agency_id in agencies]
    if flt.zone is None:
        return rows
    served = {s.id for c in counters for s in c.services}
    return [s for s in rows
            if s.id in served or agencies[s.agency_id].zone in (None, flt.zone)]


def board_service_ids(session: Session, flt: BoardFilter) -> frozenset[int]:
    """Ids of the services whose waiting counts a board with this filter shows."""
    agencies = {
        a.id: a for a in session.scalars(
            sa.select(Agency).where(Agency.site_id == flt.site_id, Agency.is_active.is_(True)))
        if (flt.agency_ids is None or a.id in flt.agency_ids)
    }
    counters = [c for c in session.scalars(
        sa.select(Counter).where(Counter.agency_id.in_(list(agencies)),
                                 Counter.is_active.is_(True)))
        if flt.zone is None or (c.zone or agencies[c.agency_id].zone) in (None, flt.zone)]
    return frozenset(s.id for s in _board_services(session, flt, agencies, counters))


def waiting_now(session: Session, flt: BoardFilter, now: datetime) -> dict[str, int]:
    """Waiting tickets per service id (as text, like JSON keys) of the services this board
    shows, for the site's current day; a service missing has nobody waiting."""
    site = session.get(Site, flt.site_id)
    if site is None:
        return {}
    shown = board_service_ids(session, flt)
    counts = waiting_counts(session, site.id, local_now(site, now).date())
    return {str(sid): n for sid, n in counts.items() if sid in shown}
