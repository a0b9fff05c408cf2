"""Online booking (antrean online): time slots, the quota shared with walk-ins, check-in, no-shows.

The quota rule (a documented decision):

- ``Q = service.daily_quota`` (``None`` = no day quota) and ``B = Q * booking_quota_percent //
  100`` is the share of the day held for bookings. ``service_day.quota_used`` counts walk-in
  tickets *and* held bookings (status ``booked`` or ``checked_in``); ``service_day.booked`` counts
  the held bookings alone.
- A booking takes its place with one conditional upsert of the (service, day) row:
  ``booked < B and quota_used < Q``. A walk-in takes its place with ``quota_used < limit`` on the
  same row (app/services/tickets.py). Both are atomic on the same row, so a booking and a kiosk
  ticket can never together exceed ``Q``, also when they race.
- While bookings for the day can still be made (some slot of the day still starts in the
  future), a walk-in's limit is ``Q - (B - booked)``: walk-ins never eat the unbooked part of the
  share. Once the day's last slot has started, nobody can book any more and the whole remaining
  quota is open to walk-ins.
- A cancelled booking or a no-show gives its place back (``quota_used - 1``, ``booked - 1``).
- Slot capacity is a separate atomic counter per (service, slot) in ``slot_count``.

Check-in turns a booking into a ticket ordered by its slot start (``sort_at``), so it goes ahead
of walk-ins issued after its slot started. The check-in window runs from ``checkin_before``
minutes before the slot to ``checkin_after`` minutes after its end; earlier is refused ("wait"),
later is a no-show that becomes an ordinary walk-in ticket or is refused (``late_policy``).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.db.models import (
    Booking,
    BookingEvent,
    Service,
    ServiceDay,
    Setting,
    Site,
    SlotCount,
    Ticket,
)
from app.db.session import is_postgres
from app.domain import booking_limits, contact, hours, issuing
from app.domain.errors import DomainError, InvalidValue, NotFound
from app.services import notify, tickets
from app.services.context import Ctx, Principal
from app.services.policy import ensure_agency_visible, require_role, site_ids_in_scope
from app.services.sitetime import local_day, local_now, special_days

SETTING_KEY = "booking"
# Unambiguous for people reading a code aloud or typing it: no I, L, O, 0, 1.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
STATUSES = ("booked", "checked_in", "cancelled", "no_show", "late")
HELD = ("booked", "checked_in")
_PHONE_RE = re.compile(r"^0\d{8,13}$")


@dataclass(frozen=True)
class Policy:
    """Site-wide booking rules, editable at run time (app_setting key "booking")."""

    checkin_before_minutes: int = 15
    checkin_after_minutes: int = 0
    # "walk_in": a late arrival gets an ordinary walk-in ticket; "refuse": told to take one.
    late_policy: str = "walk_in"
    # A slot can be booked until this many minutes before it starts.
    book_lead_minutes: int = 0
    max_active_per_phone: int = 3
    # Rate limits of the public endpoints (see app/api/ratelimit.py).
    ip_read_per_minute: int = 120
    ip_lookup_per_minute: int = 30
    ip_create_per_hour: int = 30
    phone_create_per_day: int = 5
    # Against hoarding (app/domain/booking_limits.py): short windows per client address and
    # per device cookie, and open bookings per phone per service.
    ip_create_per_minute: int = 10
    device_create_per_minute: int = 3
    device_create_per_hour: int = 10
    open_per_phone_service: int = 1

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Policy:
        known = {f.name: f.type for f in fields(cls)}
        clean: dict[str, Any] = {}
        for key, value in data.items():
            if key not in known:
                raise InvalidValue(key, "pengaturan tidak dikenal", "unknown setting")
            if key == "late_policy":
                if value not in ("walk_in", "refuse"):
                    raise InvalidValue(key, "harus 'walk_in' atau 'refuse'",
                                       "must be 'walk_in' or 'refuse'")
            elif not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100000:
                raise InvalidValue(key, "harus bilangan bulat 0..100000",
                                   "must be an integer 0..100000")
            clean[key] = value
        return cls(**clean)


def get_policy(session: Session) -> Policy:
    row = session.get(Setting, SETTING_KEY)
    if row is None or not isinstance(row.value, dict):
        return Policy()
    try:
        return Policy.from_dict(row.value)
    except DomainError:
        return Policy()


def read_policy(ctx: Ctx) -> Policy:
    require_role(ctx.actor, "admin", "manager")
    return get_policy(ctx.session)


def set_policy(ctx: Ctx, changes: dict[str, Any]) -> Policy:
    """Merge changes into the stored policy (admins only)."""
    require_role(ctx.actor, "admin")
    current = asdict(get_policy(ctx.session))
    current.update(changes)
    policy = Policy.from_dict(current)
    row = ctx.session.get(Setting, SETTING_KEY)
    if row is None:
        ctx.session.add(Setting(key=SETTING_KEY, value=asdict(policy)))
    else:
        row.value = asdict(policy)
    ctx.session.flush()
    from app.services.config import audit

    audit(ctx, "update", "booking_policy", None, changes)
    return policy


# --- slots ----------------------------------------------------------------------------------


@dataclass
class SlotView:
    start: datetime
    end: datetime
    capacity: int
    booked: int
    bookable: bool

    @property
    def left(self) -> int:
        return max(0, self.capacity - self.booked)


def _not_allowed(reason_id: str, reason_en: str) -> DomainError:
    return DomainError("booking_not_allowed", reason_id=reason_id, reason_en=reason_en)


def slot_times(service: Service, site: Site, day: date,
               special: hours.SpecialDays | None) -> list[tuple[datetime, datetime]]:
    """The day's slots in the site's zone: whole slots inside each opening range."""
    tz = ZoneInfo(site.timezone)
    step = timedelta(minutes=service.slot_minutes)
    out: list[tuple[datetime, datetime]] = []
    for opens, closes in hours.ranges_on(service.opening_hours, day, special):
        start = datetime.combine(day, opens, tzinfo=tz)
        # time.max stands for "until midnight" (a service open at all hours).
        end = (datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
               if closes == time.max else datetime.combine(day, closes, tzinfo=tz))
        while start + step <= end:
            out.append((start, start + step))
            start += step
    return out


def bookable_service(session: Session, service_id: int) -> Service:
    service = session.get(Service, service_id)
    if service is None or not service.is_active or not service.agency.is_active:
        raise NotFound("Layanan", "Service")
    if not service.booking_enabled:
        raise _not_allowed("Layanan ini tidak menerima antrean online",
                           "This service does not take online bookings")
    return service


def booking_days(service: Service, site: Site, now: datetime) -> tuple[date, date]:
    today = local_day(site, now)
    return today, today + timedelta(days=service.booking_days_ahead)


def _check_day(service: Service, site: Site, day: date, now: datetime) -> None:
    first, last = booking_days(service, site, now)
    if day < first:
        raise _not_allowed("Tanggal sudah lewat", "The date has passed")
    if day > last:
        raise _not_allowed(
            f"Pemesanan paling jauh {service.booking_days_ahead} hari ke depan",
            f"Bookings open at most {service.booking_days_ahead} days ahead")


def day_share(service: Service) -> int | None:
    """B: the places of the day held for bookings (None = no day quota)."""
    if service.daily_quota is None:
        return None
    return service.daily_quota * service.booking_quota_percent // 100


def _service_day(session: Session, service_id: int, day: date, *, lock: bool = False
                 ) -> ServiceDay | None:
    stmt = sa.select(ServiceDay).where(ServiceDay.service_id == service_id, ServiceDay.day == day)
    if lock and is_postgres(session):
        stmt = stmt.with_for_update()
    return session.scalar(stmt.execution_options(populate_existing=True))


def list_slots(session: Session, service: Service, day: date, now: datetime,
               policy: Policy | None = None) -> tuple[list[SlotView], dict[str, Any]]:
    """Slots of a day with places left, and the day's facts (closed, share left)."""
    policy = policy or get_policy(session)
    site = service.agency.site
    _check_day(service, site, day, now)
    special = special_days(session, site.id, day, days=1)
    times = slot_times(service, site, day, special)
    counts: dict[datetime, int] = {}
    if times:
        rows = session.execute(
            sa.select(SlotCount.slot_start, SlotCount.booked).where(
                SlotCount.service_id == service.id,
                SlotCount.slot_start >= times[0][0], SlotCount.slot_start <= times[-1][0],
            )
        )
        counts = {start: booked for start, booked in rows}
    share = day_share(service)
    sd = _service_day(session, service.id, day)
    share_left = None
    day_left = None
    if share is not None and service.daily_quota is not None:
        share_left = max(0, share - (sd.booked if sd else 0))
        day_left = max(0, service.daily_quota - (sd.quota_used if sd else 0))
    lead = timedelta(minutes=policy.book_lead_minutes)
    slots = []
    for start, end in times:
        booked = counts.get(start.astimezone(UTC), 0)
        ok = start - lead > now and booked < service.slot_capacity
        if share_left is not None and day_left is not None:
            ok = ok and share_left > 0 and day_left > 0
        slots.append(SlotView(start, end, service.slot_capacity, booked, ok))
    facts = {
        "closed": not times,
        "note": special_note(session, site.id, day),
        "booking_quota": share,
        "booking_quota_left": share_left,
    }
    return slots, facts


def special_note(session: Session, site_id: int, day: date) -> str | None:
    from app.db.models import SpecialDay

    return session.scalar(sa.select(SpecialDay.note).where(SpecialDay.site_id == site_id,
                                                            SpecialDay.day == day))


def bookings_still_open(session: Session, service: Service, site: Site, day: date,
                        now: datetime, policy: Policy | None = None) -> bool:
    """Whether some slot of `day` can still be booked (its start is still ahead)."""
    policy = policy or get_policy(session)
    first, last = booking_days(service, site, now)
    if not first <= day <= last:
        return False
    times = slot_times(service, site, day, special_days(session, site.id, day, days=1))
    lead = timedelta(minutes=policy.book_lead_minutes)
    return any(start - lead > now for start, _ in times)


def held_for_bookings(session: Session, service: Service, site: Site, day: date,
                      now: datetime, *, lock: bool = True) -> int:
    """The places of the day still held for online bookings: the unbooked share while some
    slot can still be booked, else none."""
    share = day_share(service)
    if share is None or not service.booking_enabled or share <= 0:
        return 0
    if not bookings_still_open(session, service, site, day, now):
        return 0
    # Locked on PostgreSQL (when issuing) so the booked count cannot move before our own upsert
    # of this row; a display-only read (the kiosk catalog) must not queue behind issues.
    sd = _service_day(session, service.id, day, lock=lock)
    return share - (sd.booked if sd else 0)


def walkin_quota_limit(session: Session, service: Service, site: Site, day: date,
                       now: datetime, *, lock: bool = True) -> int | None:
    """The quota_used bound for a walk-in ticket (app/domain/issuing.walkin_limit)."""
    if service.daily_quota is None:
        return None
    return issuing.walkin_limit(service.daily_quota,
                                held_for_bookings(session, service, site, day, now, lock=lock))


# --- booking --------------------------------------------------------------------------------


def normalize_code(raw: str) -> str:
    """What a person typed or a scanner sent -> the stored code (case, dashes, spaces ignored)."""
    code = re.sub(r"[^A-Za-z0-9]", "", raw or "").upper()
    return code[-CODE_LENGTH:] if len(code) > CODE_LENGTH and code.startswith("MPP") else code


def format_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}" if len(code) == CODE_LENGTH else code


def normalize_phone(raw: str) -> str:
    phone = re.sub(r"[\s().-]", "", raw or "")
    if phone.startswith("+62"):
        phone = "0" + phone[3:]
    elif phone.startswith("62"):
        phone = "0" + phone[2:]
    if not _PHONE_RE.match(phone):
        raise InvalidValue("phone", "nomor telepon tidak valid (contoh 0812xxxxxxxx)",
                           "invalid phone number (e.g. 0812xxxxxxxx)")
    return phone


def mask_phone(phone: str | None) -> str | None:
    """081234567890 -> 0812*****890: the first 4 and the last 3 digits, for staff screens only
    (public screens never show a phone at all). One rule: app/domain/contact.py."""
    return contact.mask_phone(phone)


def _new_code(session: Session) -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if session.scalar(sa.select(Booking.id).where(Booking.code == code)) is None:
            return code


def _as_site_time(value: datetime, site: Site) -> datetime:
    tz = ZoneInfo(site.timezone)
    try:
        return value.replace(tzinfo=tz) if value.tzinfo is None else value.astimezone(tz)
    except OverflowError:  # year 9999 and friends: no slot there
        raise _not_allowed("Slot waktu tersebut tidak tersedia",
                           "That time slot does not exist") from None


def _take_slot(session: Session, service: Service, slot_start: datetime) -> bool:
    table = SlotCount.__table__
    stmt = (
        tickets._insert(session, SlotCount)
        .values(service_id=service.id, slot_start=slot_start, booked=1)
        .on_conflict_do_update(
            index_elements=["service_id", "slot_start"],
            set_={"booked": table.c.booked + 1},
            where=table.c.booked < service.slot_capacity,
        )
        .returning(table.c.booked)
    )
    return session.execute(stmt).scalar() is not None


def _take_day_place(session: Session, service: Service, day: date) -> bool:
    quota, share = service.daily_quota, day_share(service)
    table = ServiceDay.__table__
    if quota is None or share is None:
        where = None
    else:
        if share <= 0:
            return False
        where = sa.and_(table.c.booked < share, table.c.quota_used < quota)
    stmt = (
        tickets._insert(session, ServiceDay)
        .values(service_id=service.id, day=day, last_seq=0, quota_used=1, booked=1)
        .on_conflict_do_update(
            index_elements=["service_id", "day"],
            set_={"quota_used": table.c.quota_used + 1, "booked": table.c.booked + 1},
            where=where,
        )
        .returning(table.c.booked)
    )
    return session.execute(stmt).scalar() is not None


def _release(session: Session, booking: Booking, *, slot: bool) -> None:
    """Give a booking's place back to the day (and to its slot when it can still be used).

    Rows are locked in the order booking creation takes them (slot, then day): no deadlock.
    """
    if slot:
        sc = SlotCount.__table__
        session.execute(
            sa.update(sc)
            .where(sc.c.service_id == booking.service_id, sc.c.slot_start == booking.slot_start,
                   sc.c.booked > 0)
            .values(booked=sc.c.booked - 1)
        )
    sd = ServiceDay.__table__
    session.execute(
        sa.update(sd)
        .where(sd.c.service_id == booking.service_id, sd.c.day == booking.day, sd.c.booked > 0)
        # quota_used >= booked always: held bookings are counted in both.
        .values(booked=sd.c.booked - 1, quota_used=sd.c.quota_used - 1)
    )


def _lock_phone_service(session: Session, phone: str, service_id: int) -> None:
    """Two bookings for one phone and service racing each other: the second waits for the
    first to commit, then counts it (PostgreSQL; SQLite has one writer at a time anyway)."""
    if is_postgres(session):
        key = int(hashlib.sha256(f"booking|{phone}|{service_id}".encode()).hexdigest()[:15], 16)
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def open_bookings_of(session: Session, phone: str, service_id: int, now: datetime) -> int:
    """The phone's bookings for this service that still hold a place (slot not over)."""
    return session.scalar(
        sa.select(sa.func.count()).select_from(Booking).where(
            Booking.phone == phone, Booking.service_id == service_id,
            Booking.status.in_(booking_limits.OPEN_STATUSES), Booking.slot_end > now)
    ) or 0


def create_booking(ctx: Ctx, *, service_id: int, slot_start: datetime, name: str | None = None,
                   phone: str | None = None, consent: bool = False,
                   policy: Policy | None = None,
                   next_service_ids: Sequence[int] = (), lang: str | None = None,
                   opt_in: bool = False, otp_id: int | None = None,
                   otp_code: str | None = None, otp_secret: str = "") -> Booking:
    """Book a place in a slot: slot capacity and the day's share are taken atomically."""
    session = ctx.session
    policy = policy or get_policy(session)
    service = bookable_service(session, service_id)
    site = service.agency.site
    start = _as_site_time(slot_start, site)
    day = start.date()
    _check_day(service, site, day, ctx.now)
    times = dict(slot_times(service, site, day, special_days(session, site.id, day, days=1)))
    if start not in times:
        raise _not_allowed("Slot waktu tersebut tidak tersedia pada tanggal ini",
                           "That time slot does not exist on this date")
    if start - timedelta(minutes=policy.book_lead_minutes) <= ctx.now:
        raise _not_allowed("Slot waktu tersebut sudah dimulai atau lewat",
                           "That time slot has already started or passed")
    if service.booking_requires_contact:
        name = (name or "").strip()
        if not name:
            raise InvalidValue("name", "nama wajib diisi untuk layanan ini",
                               "a name is required for this service")
        if not phone:
            raise InvalidValue("phone", "nomor telepon wajib diisi untuk layanan ini",
                               "a phone number is required for this service")
        phone = normalize_phone(phone)
        if not consent:
            raise InvalidValue("consent", "persetujuan pemrosesan data pribadi diperlukan",
                               "consent to processing personal data is required")
        active = session.scalar(
            sa.select(sa.func.count()).select_from(Booking).where(
                Booking.phone == phone, Booking.status == "booked", Booking.slot_end > ctx.now)
        ) or 0
        if active >= policy.max_active_per_phone:
            raise _not_allowed(
                f"Nomor telepon ini sudah memiliki {active} pemesanan aktif",
                f"This phone number already holds {active} active bookings")
    elif phone and opt_in:
        # Opt-in for messages only (`contact`): the phone with consent, no name.
        contact.require_consent(consent)
        phone = normalize_phone(phone)
        name = None
    else:
        # Collect personal data only where the service needs it (UU 27/2022).
        name = phone = None
    if phone:
        _lock_phone_service(session, phone, service.id)
        booking_limits.check_open_per_phone_service(
            open_bookings_of(session, phone, service.id, ctx.now), policy.open_per_phone_service)
    if service.requires_phone_otp:
        from app.services import otp

        # A phone confirmed by a one-time code (against made-up numbers).
        otp.confirm(ctx, secret=otp_secret, otp_id=otp_id, code=otp_code,
                    contact=notify.check_contact(phone, consent, otp_id=otp_id,
                                                 otp_code=otp_code))
    if next_service_ids:
        from app.services.visits import check_later_steps

        # A visit's later steps: their places are taken at check-in, which starts the visit.
        check_later_steps(ctx, service, next_service_ids)
    if not _take_slot(session, service, start):
        raise DomainError("slot_full")
    if not _take_day_place(session, service, day):
        raise DomainError("booking_quota_exhausted")
    booking = Booking(
        code=_new_code(session), site_id=site.id, agency_id=service.agency_id,
        service_id=service.id, day=day, slot_start=start, slot_end=times[start],
        status="booked", name=name or None, phone=phone,
        consent_at=ctx.now if (consent and phone) else None, created_at=ctx.now,
        next_service_ids=list(next_service_ids) or None,
        consent_version=contact.CONSENT_VERSION if (consent and phone) else None,
        lang=lang if lang in ("id", "en") else None,
    )
    session.add(booking)
    session.flush()
    notify.on_booking_created(ctx, booking, service.name, site.timezone)
    return booking


def find_booking(session: Session, code: str, *, lock: bool = False) -> Booking:
    stmt = sa.select(Booking).where(Booking.code == normalize_code(code))
    if lock and is_postgres(session):
        stmt = stmt.with_for_update()
    booking = session.scalar(stmt.execution_options(populate_existing=True))
    if booking is None:
        raise NotFound("Pemesanan", "Booking")
    return booking


def window(booking: Booking, policy: Policy) -> tuple[datetime, datetime]:
    """When check-in is accepted: [slot start - before, slot end + after)."""
    return (booking.slot_start - timedelta(minutes=policy.checkin_before_minutes),
            booking.slot_end + timedelta(minutes=policy.checkin_after_minutes))


def cancel_booking(ctx: Ctx, code: str) -> Booking:
    booking = find_booking(ctx.session, code, lock=True)
    if booking.status != "booked":
        raise DomainError("booking_state", status=booking.status, action_id="dibatalkan",
                          action_en="cancelled")
    policy = get_policy(ctx.session)
    if ctx.now >= window(booking, policy)[1]:
        raise DomainError("booking_state", status="no_show", action_id="dibatalkan",
                          action_en="cancelled")
    booking.status = "cancelled"
    # A slot that has not started yet can be booked again by someone else.
    _release(ctx.session, booking, slot=booking.slot_start > ctx.now)
    # A durable row in the same transaction: the webhook fan-out publishes booking.cancelled.
    ctx.session.add(BookingEvent(booking_id=booking.id, site_id=booking.site_id,
                                 service_id=booking.service_id, type="cancelled", at=ctx.now))
    ctx.session.flush()
    service = ctx.session.get(Service, booking.service_id)
    site = ctx.session.get(Site, booking.site_id)
    assert service is not None and site is not None
    notify.on_booking_cancelled(ctx, booking, service.name, site.timezone)
    return booking


def _mark_no_show(session: Session, booking: Booking) -> bool:
    """booked -> no_show exactly once (a conditional update), giving the place back."""
    result = session.execute(
        sa.update(Booking).where(Booking.id == booking.id, Booking.status == "booked")
        .values(status="no_show").execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    booking.status = "no_show"
    _release(session, booking, slot=False)
    return True


def expire_no_shows(ctx: Ctx, *, site_id: int | None = None, limit: int = 1000) -> int:
    """Bookings whose check-in window has ended without a check-in become no-shows."""
    session = ctx.session
    policy = get_policy(session)
    cutoff = ctx.now - timedelta(minutes=policy.checkin_after_minutes)
    stmt = sa.select(Booking).where(Booking.status == "booked", Booking.slot_end <= cutoff)
    if site_id is not None:
        stmt = stmt.where(Booking.site_id == site_id)
    done = 0
    for booking in session.scalars(stmt.order_by(Booking.id).limit(limit)).all():
        done += _mark_no_show(session, booking)
    session.flush()
    return done


@dataclass
class CheckIn:
    booking: Booking
    ticket: Ticket
    created: bool
    late: bool
    people_ahead: int
    estimated_wait_minutes: int


def ensure_can_check_in(session: Session, actor: Principal | None, booking: Booking) -> None:
    """A kiosk of the booking's site, or staff whose scope includes that site."""
    if actor is None:
        raise DomainError("not_authenticated")
    if actor.kind == "device":
        if actor.role != "kiosk" or actor.site_id != booking.site_id:
            raise DomainError("forbidden")
        return
    if actor.role not in ("admin", "manager", "officer"):
        raise DomainError("forbidden")
    scope = site_ids_in_scope(session, actor)
    if scope is not None and booking.site_id not in scope:
        raise DomainError("forbidden")


def _hhmm(dt: datetime, site: Site, today: date) -> tuple[str, str]:
    local = local_now(site, dt)
    if local.date() == today:
        return local.strftime("%H.%M"), local.strftime("%H:%M")
    return local.strftime("%d/%m %H.%M"), local.strftime("%d/%m %H:%M")


def check_in(ctx: Ctx, code: str) -> CheckIn:
    """Turn a booking into a ticket: in its window ahead of later walk-ins; late = walk-in."""
    # Who may check in at all, before the code is looked up: no probing codes anonymously.
    require_role(ctx.actor, "kiosk", "admin", "manager", "officer")
    session = ctx.session
    booking = find_booking(session, code, lock=True)
    ensure_can_check_in(session, ctx.actor, booking)
    if booking.status in ("checked_in", "late") and booking.ticket_id is not None:
        ticket = tickets.get_ticket(session, booking.ticket_id)
        ahead = tickets.people_ahead(session, ticket)
        return CheckIn(booking, ticket, False, booking.status == "late", ahead,
                       tickets.estimate_for(session, ticket.service, ahead, ticket.day))
    if booking.status == "cancelled":
        raise DomainError("booking_state", status=booking.status, action_id="check-in",
                          action_en="checked in")
    policy = get_policy(session)
    site = session.get(Site, booking.site_id)
    assert site is not None
    today = local_day(site, ctx.now)
    opens, closes = window(booking, policy)
    if ctx.now < opens:
        hint_id, hint_en = _hhmm(opens, site, today)
        raise DomainError("booking_too_early", opens_at_id=hint_id, opens_at_en=hint_en,
                          next_opening=local_now(site, opens).isoformat())
    late = ctx.now >= closes or booking.status == "no_show"
    later: list[Service] = []
    if booking.next_service_ids and (not late or policy.late_policy == "walk_in"):
        from app.services import visits

        # Check-in starts the visit: every later step's place is taken now, or none is.
        first = tickets.get_service(session, booking.service_id)
        later, _ = visits.take_later_steps(ctx, first, booking.next_service_ids)
    if late:
        if booking.status == "booked":
            _mark_no_show(session, booking)
        if policy.late_policy != "walk_in":
            hint_id, hint_en = _hhmm(closes, site, today)
            raise DomainError("booking_expired", closed_at_id=hint_id, closed_at_en=hint_en)
        # An ordinary walk-in: current time, the day's quota and opening hours apply.
        issued = tickets.issue_ticket(ctx, service_id=booking.service_id,
                                      note=f"terlambat dari pemesanan {booking.code}",
                                      phone_confirmed=True)  # asked when it was booked
        booking.status = "late"
    else:
        issued = tickets.issue_ticket(
            ctx, service_id=booking.service_id, channel="booking", sort_at=booking.slot_start,
            count_quota=False, check_hours=False, booking_id=booking.id,
        )
        booking.status = "checked_in"
    if later:
        from app.services import visits

        visits.start_plan(ctx, issued.ticket, [first, *later], day=today)
    booking.checked_in_at = ctx.now
    booking.ticket_id = issued.ticket.id
    session.flush()
    notify.on_checked_in(ctx, booking, issued.ticket, issued.ticket.service.name)
    return CheckIn(booking, issued.ticket, True, late, issued.people_ahead,
                   issued.estimated_wait_minutes)


# --- numbers for the dashboard and reports --------------------------------------------------


def staff_list(ctx: Ctx, service_id: int, day: date) -> dict[str, Any]:
    """A day's bookings of a service for staff who see its agency; phones masked, audited."""
    from app.services.config import audit

    actor = require_role(ctx.actor, "admin", "manager", "officer")
    service = ctx.session.get(Service, service_id)
    if service is None:
        raise NotFound("Layanan", "Service")
    ensure_agency_visible(ctx.session, actor, service.agency_id)
    rows = ctx.session.scalars(
        sa.select(Booking).where(Booking.service_id == service.id, Booking.day == day)
        .order_by(Booking.slot_start, Booking.id)
    ).all()
    audit(ctx, "view", "booking_list", service.id, {"date": day.isoformat()})
    zone = ZoneInfo(service.agency.site.timezone)
    return {"service_id": service.id, "date": day.isoformat(), "bookings": [
        {"code": b.code, "status": b.status, "slot_start": b.slot_start.astimezone(zone)
         .isoformat(), "name": b.name, "phone": mask_phone(b.phone),
         "ticket_id": b.ticket_id} for b in rows]}


def staff_counts(ctx: Ctx, site_id: int, day_from: date, day_to: date,
                 agency_id: int | None = None, service_id: int | None = None) -> dict[str, int]:
    """Bookings by outcome for staff of that site; an agency's staff see their agency."""
    actor = require_role(ctx.actor, "admin", "manager", "officer")
    sites = site_ids_in_scope(ctx.session, actor)
    if sites is not None and site_id not in sites:
        raise DomainError("forbidden")
    if agency_id is not None:
        ensure_agency_visible(ctx.session, actor, agency_id)
    elif actor.agency_id is not None and actor.role != "admin":
        agency_id = actor.agency_id
    return booking_counts(ctx.session, site_id, day_from, day_to, agency_id, service_id,
                          now=ctx.now)


def booking_counts(session: Session, site_id: int, day_from: date, day_to: date,
                   agency_id: int | None = None, service_id: int | None = None,
                   *, now: datetime | None = None,
                   agency_ids: frozenset[int] | set[int] | None = None) -> dict[str, int]:
    """Bookings by outcome for days [day_from, day_to] (site-local slot days).

    Keys: ``total`` (all made), ``booked`` (made and not cancelled), ``pending`` (still before
    the end of their window), ``checked_in`` (in their window), ``late`` (came after their window
    and got a walk-in ticket), ``no_show`` (window ended without check-in; evaluated lazily, so a
    booking counts here even before the no-show job has marked it), ``cancelled``.
    """
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(minutes=get_policy(session).checkin_after_minutes)
    b = Booking.__table__.c
    expired = sa.case((b.slot_end <= cutoff, 1), else_=0)
    stmt = (
        sa.select(b.status, expired, sa.func.count())
        .where(b.site_id == site_id, b.day >= day_from, b.day <= day_to)
        .group_by(b.status, expired)
    )
    if agency_id is not None:
        stmt = stmt.where(b.agency_id == agency_id)
    if agency_ids is not None:
        stmt = stmt.where(b.agency_id.in_(sorted(agency_ids)))
    if service_id is not None:
        stmt = stmt.where(b.service_id == service_id)
    out = {k: 0 for k in ("total", "booked", "pending", "checked_in", "late", "no_show",
                          "cancelled")}
    for status, is_expired, n in session.execute(stmt):
        out["total"] += n
        if status == "booked":
            out["no_show" if is_expired else "pending"] += n
        elif status in out:
            out[status] += n
    out["booked"] = out["total"] - out["cancelled"]
    return out


def public_view(booking: Booking, service: Service, policy: Policy) -> dict[str, Any]:
    """What anyone holding the code may see: no name, no phone."""
    site = service.agency.site
    tz = ZoneInfo(site.timezone)
    opens, closes = window(booking, policy)
    return {
        "code": booking.code, "code_display": format_code(booking.code),
        "status": booking.status, "day": booking.day.isoformat(),
        "slot_start": booking.slot_start.astimezone(tz).isoformat(),
        "slot_end": booking.slot_end.astimezone(tz).isoformat(),
        "checkin_opens": opens.astimezone(tz).isoformat(),
        "checkin_closes": closes.astimezone(tz).isoformat(),
        "service": {"id": service.id, "name": service.name, "prefix": service.prefix,
                    "requirements": service.requirements, "fee": service.fee,
                    "completion_time": service.completion_time},
        "agency": {"id": service.agency.id, "name": service.agency.name,
                   "floor": service.agency.floor},
        "site": {"id": site.id, "name": site.name, "timezone": site.timezone,
                 "address": site.address},
        "has_contact": booking.phone is not None,
        "checked_in_at": booking.checked_in_at.isoformat() if booking.checked_in_at else None,
    }
