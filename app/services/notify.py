"""Citizens' messages: which event makes which message, for whom, and the opt-in contact.

Every message is an outbox row written in the transaction of the event that causes it
(app/services/outbox.py sends it), keyed by that event, so a retried request never makes a
second message. A message goes only to a ticket whose holder gave a phone with consent, and
only when its type is switched on for the site (all are by default).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.db.models import Booking, Counter, OutboxMessage, Setting, Ticket, TicketContact
from app.db.ticket_store import TicketStore
from app.domain import contact as contact_rules
from app.domain.errors import DomainError, NotFound
from app.services import notify_texts, outbox
from app.services.context import Ctx
from app.services.policy import ensure_site_manager

OPEN_STATUSES = ("waiting", "called", "serving", "held")
DEFAULT_AHEAD = 3
MAX_AHEAD = 50
SETTING_PREFIX = "notify.site."
# Not a message: joining by the board's QR code, switched like the message types.
QR_JOIN = "qr_join"
SWITCHES = (*notify_texts.TYPES, QR_JOIN)


@dataclass(frozen=True)
class Contact:
    """A citizen's opt-in, checked: the phone normalised (or None: a browser only)."""

    phone: str | None
    lang: str
    holder: str | None
    consent: bool
    otp_id: int | None = None
    otp_code: str | None = None


def holder_key(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()[:40]


def check_contact(phone: str | None, consent: bool | None, *, lang: str | None = None,
                  browser: str | None = None, otp_id: int | None = None,
                  otp_code: str | None = None) -> Contact:
    """The contact given with a ticket: a phone needs consent: true (422 otherwise)."""
    lang = lang if lang in ("id", "en") else "id"
    if phone:
        contact_rules.require_consent(bool(consent))
        normalized = contact_rules.normalize_phone(phone)
        return Contact(normalized, lang, holder_key("phone", normalized), True, otp_id,
                       otp_code)
    return Contact(None, lang, holder_key("browser", browser) if browser else None, False)


def open_ticket_of(session: Session, holder: str, service_id: int, day: date) -> Ticket | None:
    """The holder's ticket still open for this service today (one each: no hoarding)."""
    return session.scalars(
        sa.select(Ticket).join(TicketContact, TicketContact.ticket_id == Ticket.id)
        .where(TicketContact.holder == holder, TicketContact.service_id == service_id,
               TicketContact.day == day, Ticket.status.in_(OPEN_STATUSES)).limit(1)).first()


def ensure_no_open_ticket(session: Session, contact: Contact, service_id: int, day: date) -> None:
    if contact.holder and open_ticket_of(session, contact.holder, service_id, day) is not None:
        raise DomainError("already_queued")


def attach(ctx: Ctx, ticket: Any, contact: Contact, *, base_url: str | None,
           service_name: str, verified: bool = False) -> None:
    """Keep the contact of a ticket just issued (same transaction) and say it is taken."""
    row = TicketContact(
        ticket_id=ticket.id, service_id=ticket.service_id, day=ticket.day,
        phone=contact.phone, lang=contact.lang, holder=contact.holder,
        consent_at=ctx.now if contact.phone else None,
        consent_version=contact_rules.CONSENT_VERSION if contact.phone else None,
        base_url=(base_url or "").rstrip("/")[:200] or None, created_at=ctx.now,
        verified=verified)
    ctx.session.add(row)
    ctx.session.flush()
    if contact.phone:
        _enqueue(ctx, row, ticket.site_id, "ticket_taken", f"ticket_taken:{ticket.id}", {
            "number": ticket.number, "service": service_name,
            "link": _link(row, f"/t/{ticket.tracking_code}")})


def staff_ticket(ctx: Ctx, ticket_id: int) -> Ticket:
    """A ticket whose contact staff may see (masked) or set: their agency's."""
    from app.services import policy

    ticket = ctx.session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound("Tiket", "Ticket")
    policy.ensure_ticket_operable(ctx.session, ctx.actor, ticket)
    return ticket


def add_to_ticket(ctx: Ctx, ticket_id: int, *, phone: str, consent: bool, lang: str | None,
                  base_url: str | None) -> Ticket:
    """A number added later (staff at the front office): the ticket must still be open, and
    a number given earlier is replaced."""
    ticket = staff_ticket(ctx, ticket_id)
    contact = check_contact(phone, consent, lang=lang)
    if ticket.status not in OPEN_STATUSES:
        raise DomainError("invalid_transition", status=ticket.status, action="contact")
    existing = ctx.session.get(TicketContact, ticket.id)
    if existing is not None:
        existing.phone, existing.lang, existing.holder = contact.phone, contact.lang, contact.holder
        existing.consent_at = ctx.now
        existing.consent_version = contact_rules.CONSENT_VERSION
        return ticket
    attach(ctx, ticket, contact, base_url=base_url, service_name=ticket.service.name)
    return ticket


def _link(row: TicketContact, path: str) -> str:
    return (row.base_url or "") + path


def switches(session: Session, site_id: int) -> dict[str, Any]:
    found = session.get(Setting, f"{SETTING_PREFIX}{site_id}")
    value = found.value if found is not None and isinstance(found.value, dict) else {}
    return {"off": [t for t in value.get("off", []) if t in SWITCHES],
            "ahead": {str(k): int(v) for k, v in (value.get("ahead") or {}).items()}}


def read_switches(ctx: Ctx, site_id: int) -> dict[str, Any]:
    ensure_site_manager(ctx.actor, site_id)
    return switches(ctx.session, site_id)


def set_switches(ctx: Ctx, site_id: int, *, enabled: dict[str, bool],
                 ahead: dict[str, int]) -> dict[str, Any]:
    ensure_site_manager(ctx.actor, site_id)
    current = switches(ctx.session, site_id)
    off = set(current["off"])
    for kind, on in enabled.items():
        if kind not in SWITCHES:
            raise DomainError("invalid_value", field="enabled", reason_id=f"jenis {kind}?",
                              reason_en=f"unknown message type {kind}")
        (off.discard if on else off.add)(kind)
    value = {"off": sorted(off), "ahead": {**current["ahead"],
                                           **{str(k): int(v) for k, v in ahead.items()}}}
    row = ctx.session.get(Setting, f"{SETTING_PREFIX}{site_id}")
    if row is None:
        ctx.session.add(Setting(key=f"{SETTING_PREFIX}{site_id}", value=value))
    else:
        row.value = value
    return value


def _enqueue(ctx: Ctx, row: TicketContact, site_id: int, kind: str, key: str,
             params: dict[str, Any]) -> None:
    if not row.phone or kind in switches(ctx.session, site_id)["off"]:
        return
    outbox.enqueue(ctx.session, kind="message", topic=kind, key=key, site_id=site_id,
                   target=row.phone, ticket_id=row.ticket_id, now=ctx.now,
                   payload={"type": kind, "lang": row.lang, "params": params})


def on_called(ctx: Ctx, ticket: Ticket, counter: Counter) -> None:
    """A ticket called to a counter: its holder hears where to go; the holder now a few
    places from the front hears it too."""
    row = ctx.session.get(TicketContact, ticket.id)
    if row is not None and row.phone:
        agency = counter.agency
        _enqueue(ctx, row, ticket.site_id, "ticket_called",
                 f"ticket_called:{ticket.id}:{ticket.call_count}", {
                     "number": ticket.number, "counter": str(counter.number),
                     "place": notify_texts.place(row.lang, agency.floor,
                                                 counter.zone or agency.zone)})
    _nearly_up(ctx, ticket)


def _nearly_up(ctx: Ctx, called: Ticket) -> None:
    session = ctx.session
    session.flush()  # the call just made counts (no autoflush)
    # In calling order, a ticket has at least as many people ahead as contacts before it: only
    # the first limit + 1 not yet told can be within `limit` places (usually one count).
    rows = session.execute(
        sa.select(TicketContact, Ticket).join(Ticket, Ticket.id == TicketContact.ticket_id)
        .where(TicketContact.service_id == called.service_id, TicketContact.day == called.day,
               TicketContact.ahead_sent.is_(False), TicketContact.phone.is_not(None),
               Ticket.status == "waiting")
        .order_by(Ticket.priority.is_(None), Ticket.sort_at, Ticket.seq)
        .limit(MAX_AHEAD + 1)).all()
    if not rows:
        return
    limit = switches(session, called.site_id)["ahead"].get(str(called.service_id),
                                                            DEFAULT_AHEAD)
    for row, ticket in rows[:limit + 1]:
        ahead = TicketStore(session).people_ahead(ticket)
        if ahead > limit:
            break
        row.ahead_sent = True
        _enqueue(ctx, row, ticket.site_id, "ticket_ahead", f"ticket_ahead:{ticket.id}", {
            "ahead": ahead, "number": ticket.number, "service": ticket.service.name})


def on_visit_step(ctx: Ctx, ticket: Ticket, position: int) -> None:
    """A visit moved on to its next service (the ticket keeps its number and tracking)."""
    row = ctx.session.get(TicketContact, ticket.id)
    if row is not None and row.phone:
        _enqueue(ctx, row, ticket.site_id, "visit_step", f"visit_step:{ticket.id}:{position}", {
            "service": ticket.service.name, "number": ticket.number,
            "link": _link(row, f"/t/{ticket.tracking_code}")})


def on_finished(ctx: Ctx, ticket: Ticket) -> None:
    row = ctx.session.get(TicketContact, ticket.id)
    if row is not None and row.phone:
        _enqueue(ctx, row, ticket.site_id, "ticket_done", f"ticket_done:{ticket.id}",
                 {"link": _link(row, f"/survey/{ticket.tracking_code}")})


def masked_phone(session: Session, ticket_id: int) -> str | None:
    """For staff screens: the ticket's phone, masked."""
    row = session.get(TicketContact, ticket_id)
    return contact_rules.mask_phone(row.phone) if row is not None else None


# --- bookings ---------------------------------------------------------------------------------

REMINDERS = (("booking_reminder_day", timedelta(days=1)),
             ("booking_reminder_hour", timedelta(hours=1)))


def _booking_params(booking: Booking, service_name: str, tz: str) -> dict[str, Any]:
    local = booking.slot_start.astimezone(ZoneInfo(tz))
    return {"code": booking.code, "service": service_name,
            "when": f"{local:%d-%m-%Y %H.%M}"}


def _booking_target(booking: Booking) -> str | None:
    if not booking.phone or booking.consent_at is None:
        return None
    try:
        return contact_rules.normalize_phone(booking.phone)
    except DomainError:
        return None


def _booking_enqueue(ctx: Ctx, booking: Booking, kind: str, params: dict[str, Any],
                     due: datetime | None = None) -> None:
    target = _booking_target(booking)
    if target is None or kind in switches(ctx.session, booking.site_id)["off"]:
        return
    outbox.enqueue(ctx.session, kind="message", topic=kind, key=f"{kind}:{booking.id}",
                   site_id=booking.site_id, target=target, booking_id=booking.id, now=ctx.now,
                   due=due, payload={"type": kind, "lang": booking.lang or "id",
                                     "params": params})


def on_booking_created(ctx: Ctx, booking: Booking, service_name: str, tz: str) -> None:
    """Confirmed now; reminded the day before and an hour before (rows due then: durable
    across restarts, and dropped if the booking is cancelled first)."""
    params = _booking_params(booking, service_name, tz)
    _booking_enqueue(ctx, booking, "booking_confirmed", params)
    for kind, before in REMINDERS:
        due = booking.slot_start - before
        if due > ctx.now:
            _booking_enqueue(ctx, booking, kind, params, due=due)


def on_booking_cancelled(ctx: Ctx, booking: Booking, service_name: str, tz: str) -> None:
    o = OutboxMessage.__table__.c
    ctx.session.execute(
        sa.update(OutboxMessage)
        .where(o.key.in_([f"{kind}:{booking.id}" for kind, _ in REMINDERS]),
               o.status == "pending")
        .values(status="skipped", last_error="booking cancelled"))
    _booking_enqueue(ctx, booking, "booking_cancelled",
                     _booking_params(booking, service_name, tz))


def on_checked_in(ctx: Ctx, booking: Booking, ticket: Any, service_name: str,
                  base_url: str | None = None) -> None:
    """The booking's contact follows its ticket (called, done...)."""
    target = _booking_target(booking)
    if target is None or ctx.session.get(TicketContact, ticket.id) is not None:
        return
    ctx.session.add(TicketContact(
        ticket_id=ticket.id, service_id=ticket.service_id, day=ticket.day, phone=target,
        lang=booking.lang or "id", holder=holder_key("phone", target),
        consent_at=booking.consent_at, consent_version=booking.consent_version,
        base_url=base_url, created_at=ctx.now))
    ctx.session.flush()
