"""Taking a ticket with a contact (kiosk, staff, phone) and joining without a kiosk.

Every path goes through tickets.issue_ticket, the one issue decision (quota, hours, priority);
this module adds only what a contact brings: consent, one open ticket per holder per service
per day, the contact row and the "taken" message, all in the issue's transaction.

Joining by phone: the board shows a QR code whose URL carries a code signed for the site and
the current minute; it is accepted during that minute and the next one only, so a photo taken
yesterday (or sent to someone at home) is useless.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from app.db.models import DisplayBoard, IdempotencyKey, Service, Site, Ticket, TicketEvent
from app.domain.errors import DomainError, NotFound
from app.services import notify, otp, tickets
from app.services.context import Ctx
from app.services.policy import STAFF_ROLES, require_role
from app.services.sitetime import local_day

CODE_MINUTES = 1
LATE_PLACES = 3


def request_ticket(ctx: Ctx, *, service_id: int, priority: str | None = None,
                   idempotency_key: str | None = None, next_service_ids: Sequence[int] = (),
                   package_id: int | None = None, contact: notify.Contact | None = None,
                   base_url: str | None = None, otp_secret: str = "") -> tickets.Issued:
    """A ticket asked for over the API (`POST /tickets`): by a kiosk, a partner key or staff;
    with a contact, with several steps, or plain."""
    require_role(ctx.actor, "kiosk", "partner", *STAFF_ROLES)
    if contact is not None:
        return issue_with_contact(ctx, service_id=service_id, contact=contact,
                                  base_url=base_url, priority=priority,
                                  idempotency_key=idempotency_key,
                                  next_service_ids=next_service_ids, package_id=package_id,
                                  otp_secret=otp_secret)
    if next_service_ids or package_id:
        from app.services import visits

        return visits.issue_visit(ctx, service_id=service_id,
                                  next_service_ids=list(next_service_ids),
                                  package_id=package_id, priority=priority,
                                  idempotency_key=idempotency_key)
    return tickets.issue_ticket(ctx, service_id=service_id, priority=priority,
                                idempotency_key=idempotency_key)


def issue_with_contact(ctx: Ctx, *, service_id: int, contact: notify.Contact,
                       base_url: str | None, priority: str | None = None,
                       idempotency_key: str | None = None, channel: str = "kiosk",
                       next_service_ids: Sequence[int] = (), package_id: int | None = None,
                       otp_secret: str = "") -> tickets.Issued:
    service = tickets.get_service(ctx.session, service_id)
    verified = False
    if service.requires_phone_otp:
        otp.confirm(ctx, secret=otp_secret, contact=contact, otp_id=contact.otp_id,
                    code=contact.otp_code)
        verified = True
    if contact.holder is not None:
        day = local_day(service.agency.site, ctx.now)
        existing = notify.open_ticket_of(ctx.session, contact.holder, service_id, day)
        if existing is not None and not _is_retry(ctx, idempotency_key):
            raise DomainError("already_queued")
    if next_service_ids or package_id:
        from app.services import visits

        issued = visits.issue_visit(ctx, service_id=service_id,
                                    next_service_ids=list(next_service_ids),
                                    package_id=package_id, priority=priority,
                                    idempotency_key=idempotency_key, phone_confirmed=verified)
    else:
        issued = tickets.issue_ticket(ctx, service_id=service_id, priority=priority,
                                      idempotency_key=idempotency_key, channel=channel,
                                      phone_confirmed=verified)
    if issued.created:
        notify.attach(ctx, issued.view, contact, base_url=base_url, service_name=service.name,
                      verified=verified)
    return issued


def _is_retry(ctx: Ctx, idempotency_key: str | None) -> bool:
    """The request repeats one already answered (issue_ticket then gives its ticket back)."""
    if idempotency_key is None or ctx.actor is None:
        return False
    return ctx.session.get(IdempotencyKey, (ctx.actor.scope_key, idempotency_key)) is not None


# --- the board's rotating code ----------------------------------------------------------------


def _sign(secret: str, site_id: int, minute: int) -> str:
    mac = hmac.new(secret.encode(), f"join|{site_id}|{minute}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:12]).decode().rstrip("=")


@dataclass(frozen=True)
class JoinCode:
    code: str
    expires_at: datetime


def current_code(secret: str, site_id: int, now: datetime) -> JoinCode:
    minute = int(now.timestamp() // 60)
    expires = datetime.fromtimestamp((minute + 1 + CODE_MINUTES) * 60, UTC)
    return JoinCode(f"{minute}.{_sign(secret, site_id, minute)}", expires)


def check_code(secret: str, site_id: int, code: str, now: datetime) -> None:
    minute_s, _, sig = (code or "").partition(".")
    if not minute_s.isdigit() or not sig:
        raise DomainError("join_code_expired")
    minute = int(minute_s)
    current = int(now.timestamp() // 60)
    if not (current - CODE_MINUTES <= minute <= current):
        raise DomainError("join_code_expired")
    if not hmac.compare_digest(sig, _sign(secret, site_id, minute)):
        raise DomainError("join_code_expired")


def get_site(ctx: Ctx, site_id: int) -> Site:
    """A site that takes tickets by QR code (on unless switched off for the site)."""
    site = ctx.session.get(Site, site_id)
    if (site is None or not site.is_active
            or notify.QR_JOIN in notify.switches(ctx.session, site.id)["off"]):
        raise NotFound("Lokasi", "Site")
    return site


def site_of_board(ctx: Ctx, board_id: int) -> int:
    board = ctx.session.get(DisplayBoard, board_id)
    if board is None:
        raise NotFound("Papan", "Board")
    return board.site_id


def needs_confirmed_phone(session: Any, service_id: int) -> bool:
    service = session.get(Service, service_id)
    return bool(service is not None and service.requires_phone_otp)


def request_join_otp(ctx: Ctx, *, secret: str, site_id: int, code: str, service_id: int,
                     phone: str, consent: bool, lang: str | None) -> int:
    """The one-time code for joining a service that needs a confirmed phone; only with the
    board's current code (no code messages for someone at home). Returns the code's id."""
    check_code(secret, site_id, code, ctx.now)
    service = tickets.get_service(ctx.session, service_id)
    if service.site_id != get_site(ctx, site_id).id:
        raise NotFound("Layanan", "Service")
    return otp.request_code(ctx, secret=secret, phone=phone, consent=consent, lang=lang).id


def join(ctx: Ctx, *, secret: str, site_id: int, code: str, service_id: int,
         contact: notify.Contact, base_url: str | None) -> tickets.Issued:
    """A phone takes a same-day ticket with the board's code: the kiosk's ticket.

    With a one-time code the board's code is judged at the time that code was asked for
    (it was checked then): typing the code from a message takes longer than the board's
    minute, and the one-time code has its own expiry."""
    at = ctx.now
    if contact.otp_id is not None:
        asked = otp.requested_at(ctx.session, contact.otp_id)
        if asked is not None and ctx.now - timedelta(minutes=otp.CODE_MINUTES) < asked <= ctx.now:
            at = asked
    check_code(secret, site_id, code, at)
    service = tickets.get_service(ctx.session, service_id)
    if service.site_id != get_site(ctx, site_id).id:
        raise NotFound("Layanan", "Service")
    return issue_with_contact(ctx, service_id=service_id, contact=contact, base_url=base_url,
                              channel="qr", otp_secret=secret)


# --- the citizen's own ticket: late, leave ---------------------------------------------------


def running_late(ctx: Ctx, code: str, places: int = LATE_PLACES) -> Ticket:
    """Move a waiting ticket back `places` places in its queue, once."""
    session = ctx.session
    ticket = tickets.find_by_tracking(session, code)
    if ticket.status != "waiting":
        raise DomainError("invalid_transition", status=ticket.status, action="late")
    used = session.scalar(sa.select(TicketEvent.id).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.type == "late").limit(1))
    if used is not None:
        raise DomainError("late_used")
    t = Ticket.__table__.c
    same_class = t.priority.is_not(None) if ticket.priority else t.priority.is_(None)
    behind = session.execute(
        sa.select(t.sort_at).where(
            t.service_id == ticket.service_id, t.day == ticket.day, t.status == "waiting",
            same_class, sa.or_(t.sort_at > ticket.sort_at,
                               sa.and_(t.sort_at == ticket.sort_at, t.id > ticket.id)))
        .order_by(t.sort_at, t.id).limit(places)).scalars().all()
    if behind:
        # Just after the ticket `places` behind (or the last one): ties go by id, ours is older.
        ticket.sort_at = behind[-1] + timedelta(microseconds=1)
    site = ticket.service.agency.site
    tickets.record_event(ctx, ticket, site, "late", "waiting", note=f"+{len(behind)}")
    ctx.emit(tickets._status_event(ticket, "waiting", ctx.now))
    return ticket


def leave(ctx: Ctx, code: str) -> Ticket:
    ticket = tickets.find_by_tracking(ctx.session, code)
    return tickets.cancel(ctx, ticket)
