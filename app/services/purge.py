"""Personal-data housekeeping (UU 27/2022): clear personal fields past the retention period.

What counts as personal here, and when it expires (age counted from the moment named):
- booking name, phone and consent time: from the end of the booked slot (a booking made long
  ago for a future date keeps its contact until the visit is over);
- survey comment (free text a citizen may sign or fill with details): from submission;
- ticket note and ticket-event note (officers' free text): from issue / from the event;
- the IP address in the audit log (staff's personal data): from the entry;
- a ticket's opt-in phone (and its hashed holder) and a message's phone: from their writing.
Everything else stays: ticket numbers, times, statuses, survey scores, audit who/what/when, so
statistics and the IKM are unchanged. Tickets never hold names, NIK or phone numbers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.db.models import (
    AuditLog,
    Booking,
    OutboxMessage,
    Setting,
    SurveyResponse,
    Ticket,
    TicketContact,
    TicketEvent,
)
from app.domain.errors import InvalidValue
from app.services.config import audit
from app.services.context import Ctx
from app.services.policy import require_role

SETTING_KEY = "retention"
LAST_RUN_KEY = "purge_last_run"
MIN_DAYS, MAX_DAYS = 1, 3650


@dataclass
class PurgeResult:
    retention_days: int
    cutoff: str
    bookings: int = 0
    survey_comments: int = 0
    ticket_notes: int = 0
    event_notes: int = 0
    audit_ips: int = 0
    contact_phones: int = 0  # opt-in phones of tickets and of messages (issue 20)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def total(self) -> int:
        return (self.bookings + self.survey_comments + self.ticket_notes + self.event_notes
                + self.audit_ips + self.contact_phones)


def forget_booking_contact(session: Session, booking_id: int | None) -> None:
    """The booking's purpose is met once its ticket is over: drop the name and phone now.

    Survey answers and the ticket's priority group are linked to the ticket, and the ticket to
    its booking; without this, "Survei ini anonim" would be false until the retention purge.
    """
    if booking_id is None:
        return
    session.execute(sa.update(Booking).where(Booking.id == booking_id)
                    .values(name=None, phone=None, consent_at=None))


def retention_days(session: Session, default: int) -> int:
    """The admin's setting when saved, else MPP_RETENTION_DAYS."""
    row = session.get(Setting, SETTING_KEY)
    if row is not None and isinstance(row.value, dict) and isinstance(row.value.get("days"), int):
        return int(row.value["days"])
    return default


def set_retention_days(ctx: Ctx, days: int) -> int:
    require_role(ctx.actor, "admin")
    if not MIN_DAYS <= days <= MAX_DAYS:
        raise InvalidValue("days", f"harus antara {MIN_DAYS} dan {MAX_DAYS} hari",
                           f"must be between {MIN_DAYS} and {MAX_DAYS} days")
    row = ctx.session.get(Setting, SETTING_KEY)
    old = row.value.get("days") if row is not None else None
    if row is None:
        ctx.session.add(Setting(key=SETTING_KEY, value={"days": days}))
    else:
        row.value = {"days": days}
    if old != days:
        audit(ctx, "update", "setting", None, {"retention_days": days})
    ctx.session.flush()
    return days


def last_run(session: Session) -> dict[str, Any] | None:
    row = session.get(Setting, LAST_RUN_KEY)
    return dict(row.value) if row is not None else None


def purge(session: Session, *, now: datetime, days: int) -> PurgeResult:
    """Clear personal fields older than `days`; idempotent (a second run changes nothing)."""
    cutoff = now - timedelta(days=days)
    result = PurgeResult(retention_days=days, cutoff=cutoff.isoformat())

    def run(stmt: Any) -> int:
        return int(session.execute(stmt, execution_options={"synchronize_session": False})
                   .rowcount or 0)

    result.bookings = run(
        sa.update(Booking).where(
            Booking.slot_end < cutoff,
            sa.or_(Booking.name.is_not(None), Booking.phone.is_not(None),
                   Booking.consent_at.is_not(None)),
        ).values(name=None, phone=None, consent_at=None))
    result.survey_comments = run(
        sa.update(SurveyResponse).where(SurveyResponse.submitted_at < cutoff,
                                        SurveyResponse.comment.is_not(None))
        .values(comment=None))
    result.ticket_notes = run(
        sa.update(Ticket).where(Ticket.issued_at < cutoff, Ticket.note.is_not(None))
        .values(note=None))
    result.event_notes = run(
        sa.update(TicketEvent).where(TicketEvent.at < cutoff, TicketEvent.note.is_not(None))
        .values(note=None))
    result.audit_ips = run(
        sa.update(AuditLog).where(AuditLog.at < cutoff, AuditLog.ip.is_not(None))
        .values(ip=None))
    result.contact_phones = run(
        sa.update(TicketContact).where(TicketContact.created_at < cutoff,
                                       sa.or_(TicketContact.phone.is_not(None),
                                              TicketContact.holder.is_not(None)))
        .values(phone=None, holder=None))
    # A message not sent by then never will be: it loses its number with the rest.
    result.contact_phones += run(
        sa.update(OutboxMessage).where(OutboxMessage.created_at < cutoff,
                                       OutboxMessage.kind == "message",
                                       OutboxMessage.target.is_not(None))
        .values(target=None))
    row = session.get(Setting, LAST_RUN_KEY)
    value = {"at": now.isoformat(), **result.as_dict()}
    if row is None:
        session.add(Setting(key=LAST_RUN_KEY, value=value))
    else:
        row.value = value
    session.flush()
    return result


def run_purge(ctx: Ctx, default_days: int) -> PurgeResult:
    """Purge on behalf of an admin (the button in /admin); audited."""
    require_role(ctx.actor, "admin")
    result = purge(ctx.session, now=ctx.now, days=retention_days(ctx.session, default_days))
    audit(ctx, "purge", "personal_data", None, result.as_dict())
    return result
