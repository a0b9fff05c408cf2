"""Issuing a ticket: the one decision every path and every storage engine calls.

The caller gathers the facts (the service, its site's day, the quota used so far, the places
still held for online bookings, who asks and what they ask for); `decide_issue` answers the
ticket to write or a refusal with its stable code. Storage then only stores: it bumps the day's
sequence under the limit decided here (the one guard a concurrent write needs) and writes the
rows this module describes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from app.domain import hours
from app.domain.errors import DomainError
from app.domain.priority import check_offered, parse_group
from app.domain.tickets import TicketStatus

ISSUED_EVENT_TYPE = "issued"


@dataclass(frozen=True)
class ServiceFacts:
    """What an issue needs to know about the service (one read)."""

    id: int
    site_id: int
    agency_id: int
    prefix: str
    daily_quota: int | None
    typical_minutes: int
    opening_hours: dict[str, Any] | None
    booking_enabled: bool
    is_active: bool
    agency_active: bool
    zone: str | None
    timezone: str
    open_counters: int
    priority_sick: bool = False  # the service offers priority to the sick
    requires_phone_otp: bool = False  # a ticket needs a phone confirmed by a one-time code


@dataclass(frozen=True)
class DayFacts:
    """The service's day at its site: local time, special hours, recent service times and the
    quota places used so far."""

    local_now: datetime
    special: list[tuple[time, time]] | None  # None: no special hours today
    recent_minutes: list[float]
    quota_used: int = 0

    @property
    def day(self) -> date:
        return self.local_now.date()


@dataclass(frozen=True)
class Actor:
    """Who asks, as far as issuing cares."""

    user_id: int | None
    scope_key: str  # idempotency keys are scoped per caller
    site_ids: frozenset[int] | None  # sites it may issue into; None: every site
    in_person: bool = False  # staff at a counter or the front office, who see the citizen


@dataclass(frozen=True)
class IssueRequest:
    service_id: int
    priority: str | None = None
    idempotency_key: str | None = None
    channel: str = "kiosk"
    sort_at: datetime | None = None  # queue position; None: now
    count_quota: bool = True  # False: a transfer or a booked arrival (its place is held)
    check_hours: bool = True
    booking_id: int | None = None
    transferred_from_id: int | None = None
    note: str | None = None
    phone_confirmed: bool = False  # the request's phone was confirmed by a one-time code


# Tickets that follow from another one (or from a booking): no phone code is asked again.
FOLLOW_ON_CHANNELS = ("transfer", "visit", "booking")


def needs_confirmed_phone(service: ServiceFacts, request: IssueRequest,
                          actor: Actor | None) -> bool:
    """A service that asks for a phone confirmed by a one-time code (against brokers taking
    places with made-up numbers) refuses a self-service ticket without one: a kiosk tap, a
    phone, a partner. Staff who see the citizen, follow-on tickets and bookings pass."""
    return (service.requires_phone_otp and not request.phone_confirmed
            and request.booking_id is None and request.channel not in FOLLOW_ON_CHANNELS
            and not (actor is not None and actor.in_person))


@dataclass(frozen=True)
class Refusal:
    """No ticket: `code` is a stable error code of app/domain/errors.py."""

    code: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NewTicket:
    """The ticket to write, its 'issued' event row and the idempotency key it answers.

    `used` is 1 when the ticket takes a quota place; the store bumps the day's sequence only
    while quota_used < quota_limit (None: no limit), so a racing issue cannot pass the limit."""

    site_id: int
    agency_id: int
    service_id: int
    prefix: str
    day: date
    priority: str | None
    channel: str
    now: datetime
    sort_at: datetime
    tracking_code: str
    booking_id: int | None
    transferred_from_id: int | None
    note: str | None
    used: int
    quota_limit: int | None
    user_id: int | None
    hour: int
    weekday: int
    idem_scope: str | None
    idem_key: str | None
    idem_hash: str | None = None
    status: str = TicketStatus.WAITING.value
    event_type: str = ISSUED_EVENT_TYPE


def priority_group(priority: str | None) -> str | None | Refusal:
    """The stored priority group, or a refusal for one the law does not know
    (app/domain/priority.py)."""
    try:
        group = parse_group(priority)
    except DomainError as err:
        return Refusal(err.code, dict(err.params))
    return None if group is None else group.value


def _offered(priority: str | None, service: ServiceFacts, request: IssueRequest
             ) -> Refusal | None:
    """Priority for the sick only where the service offers it (a transfer keeps its group)."""
    if request.channel == "transfer":
        return None
    try:
        check_offered(parse_group(priority), sick=service.priority_sick)
    except DomainError as err:
        return Refusal(err.code, dict(err.params))
    return None


def request_fingerprint(service_id: int, priority: str | None) -> str:
    """What a retry with the same Idempotency-Key must ask again (else: a conflict)."""
    return hashlib.sha256(f"{service_id}|{priority or ''}".encode()).hexdigest()


def replay(stored_hash: str | None, request: IssueRequest) -> Refusal | None:
    """A retry of a claimed key: None when it is the same request (answer its ticket)."""
    priority = priority_group(request.priority)
    if isinstance(priority, Refusal):
        return priority
    if stored_hash != request_fingerprint(request.service_id, priority):
        return Refusal("idempotency_conflict")
    return None


def walkin_limit(daily_quota: int | None, held_for_bookings: int) -> int | None:
    """The quota places a walk-in may use: the day's quota less the places still held for
    online bookings (app/services/booking.py counts those)."""
    if daily_quota is None:
        return None
    return max(0, daily_quota - max(0, held_for_bookings))


def needs_held_for_bookings(service: ServiceFacts, request: IssueRequest) -> bool:
    """Whether decide_issue needs the places held for bookings (a fact more to read)."""
    return request.count_quota and service.daily_quota is not None and service.booking_enabled


def decide_issue(service: ServiceFacts | None, today: DayFacts | None, request: IssueRequest,
                 actor: Actor | None, *, now: datetime, tracking_code: str,
                 held_for_bookings: int | None = None) -> NewTicket | Refusal:
    """Issue a ticket or refuse, from facts only. Checked in this order: the priority group,
    the service exists and is active, the caller's site, the group is offered there, the
    phone confirmed by a code where the service asks for one, the opening hours, the quota."""
    priority = priority_group(request.priority)
    if isinstance(priority, Refusal):
        return priority
    if service is None or today is None:
        return Refusal("not_found")
    if not service.is_active or not service.agency_active:
        return Refusal("service_inactive")
    if actor is not None and actor.site_ids is not None and service.site_id not in actor.site_ids:
        # A kiosk or staff member of one MPP never issues into another MPP's queue.
        return Refusal("forbidden")
    not_offered = _offered(priority, service, request)
    if not_offered is not None:
        return not_offered
    if needs_confirmed_phone(service, request, actor):
        return Refusal("phone_required")
    if request.check_hours:
        special = {today.day: today.special} if today.special is not None else None
        if not hours.is_open(service.opening_hours, today.local_now, special):
            return Refusal("service_closed")
    limit = None
    if request.count_quota:
        limit = service.daily_quota
        if needs_held_for_bookings(service, request):
            if held_for_bookings is None:
                raise ValueError("decide_issue needs held_for_bookings for this service")
            limit = walkin_limit(limit, held_for_bookings)
        if limit is not None and today.quota_used >= limit:
            return Refusal("quota_exhausted")
    keyed = actor is not None and request.idempotency_key is not None
    lnow = today.local_now
    return NewTicket(
        site_id=service.site_id, agency_id=service.agency_id, service_id=service.id,
        prefix=service.prefix, day=today.day, priority=priority, channel=request.channel,
        now=now, sort_at=request.sort_at or now, tracking_code=tracking_code,
        booking_id=request.booking_id, transferred_from_id=request.transferred_from_id,
        note=request.note, used=1 if request.count_quota else 0, quota_limit=limit,
        user_id=actor.user_id if actor else None, hour=lnow.hour, weekday=lnow.isoweekday(),
        idem_scope=actor.scope_key if keyed and actor else None,
        idem_key=request.idempotency_key if keyed else None,
        idem_hash=request_fingerprint(service.id, priority) if keyed else None,
    )
