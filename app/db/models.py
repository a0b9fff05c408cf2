"""SQLAlchemy 2 models. Times are stored in UTC; `day` columns hold the site-local date."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite as on PostgreSQL."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: sa.JSON()}


class Site(Base):
    __tablename__ = "site"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    timezone: Mapped[str] = mapped_column(sa.String(64), default="Asia/Jakarta")
    address: Mapped[str | None] = mapped_column(sa.String(500))
    # At most this many priority calls in a row per counter while regular tickets wait.
    max_consecutive_priority: Mapped[int | None] = mapped_column(default=3)
    require_display_token: Mapped[bool] = mapped_column(default=False)
    # Visits with several services: where a ticket joins its next step's queue ("original":
    # by its issue time, "back": behind everyone waiting), and whether a no-show at one step
    # cancels the later ones (app/domain/visits.py).
    visit_requeue: Mapped[str] = mapped_column(sa.String(16), default="original",
                                               server_default="original")
    visit_no_show_cancels: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SpecialDay(Base):
    """A holiday (no ranges) or special hours (e.g. Ramadan) for a whole site."""

    __tablename__ = "special_day"
    __table_args__ = (sa.UniqueConstraint("site_id", "day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("site.id"))
    day: Mapped[date]
    ranges: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    note: Mapped[str | None] = mapped_column(sa.String(200))
    # 'libur_nasional' / 'cuti_bersama' when pre-filled from the holidays package; None if typed.
    kind: Mapped[str | None] = mapped_column(sa.String(16))


class Agency(Base):
    __tablename__ = "agency"
    __table_args__ = (sa.UniqueConstraint("site_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("site.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(32))
    name: Mapped[str] = mapped_column(sa.String(200))
    floor: Mapped[str | None] = mapped_column(sa.String(50))
    zone: Mapped[str | None] = mapped_column(sa.String(50))
    color: Mapped[str | None] = mapped_column(sa.String(16))
    is_active: Mapped[bool] = mapped_column(default=True)
    site: Mapped[Site] = relationship(lazy="joined")


class Service(Base):
    __tablename__ = "service"
    __table_args__ = (sa.UniqueConstraint("site_id", "prefix"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"), index=True)
    # Denormalised from the agency so a prefix can be unique per site in the schema.
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("site.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(32))
    name: Mapped[str] = mapped_column(sa.String(200))
    prefix: Mapped[str] = mapped_column(sa.String(3))
    daily_quota: Mapped[int | None]
    typical_minutes: Mapped[int] = mapped_column(default=10)
    opening_hours: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    # The six public components of the standar pelayanan.
    requirements: Mapped[str | None] = mapped_column(sa.Text)
    procedure: Mapped[str | None] = mapped_column(sa.Text)
    completion_time: Mapped[str | None] = mapped_column(sa.String(200))
    fee: Mapped[str | None] = mapped_column(sa.String(200))
    product: Mapped[str | None] = mapped_column(sa.String(500))
    complaints: Mapped[str | None] = mapped_column(sa.String(500))
    # Priority for the sick (UU 22/2009 Pasal 242), offered per service: SIM, Samsat.
    priority_sick: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Online booking settings.
    booking_enabled: Mapped[bool] = mapped_column(default=False)
    slot_minutes: Mapped[int] = mapped_column(default=30)
    slot_capacity: Mapped[int] = mapped_column(default=5)
    booking_days_ahead: Mapped[int] = mapped_column(default=7)
    booking_quota_percent: Mapped[int] = mapped_column(default=50)
    booking_requires_contact: Mapped[bool] = mapped_column(default=False)
    # Tickets and bookings of this service need a phone confirmed by a one-time code.
    requires_phone_otp: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    is_active: Mapped[bool] = mapped_column(default=True)
    agency: Mapped[Agency] = relationship(lazy="joined")


counter_service = sa.Table(
    "counter_service",
    Base.metadata,
    sa.Column("counter_id", sa.ForeignKey("counter.id"), primary_key=True),
    sa.Column("service_id", sa.ForeignKey("service.id"), primary_key=True, index=True),
)


class User(Base):
    __tablename__ = "user_account"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    full_name: Mapped[str | None] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(16))
    agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agency.id"))
    # Managers without an agency see a whole site.
    site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("site.id"))
    is_active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Tokens and session cookies carry it; bumping it ends them all (app/services/principal.py).
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")


class Counter(Base):
    __tablename__ = "counter"
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    number: Mapped[int]
    zone: Mapped[str | None] = mapped_column(sa.String(50))
    is_active: Mapped[bool] = mapped_column(default=True)
    is_open: Mapped[bool] = mapped_column(default=False)
    officer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    opened_at: Mapped[datetime | None]
    priority_streak: Mapped[int] = mapped_column(default=0)
    # On break ("istirahat"): still open (the officer keeps the seat) but calls nothing.
    break_reason: Mapped[str | None] = mapped_column(sa.String(200))
    break_since: Mapped[datetime | None]
    agency: Mapped[Agency] = relationship(lazy="joined")
    services: Mapped[list[Service]] = relationship(secondary=counter_service, lazy="selectin")


class DisplayBoard(Base):
    __tablename__ = "display_board"
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("site.id"))
    name: Mapped[str] = mapped_column(sa.String(100))
    zone: Mapped[str | None] = mapped_column(sa.String(50))
    agency_ids: Mapped[list[Any] | None] = mapped_column(sa.JSON)
    layout: Mapped[str] = mapped_column(sa.String(20), default="landscape")
    running_text: Mapped[str | None] = mapped_column(sa.String(500))
    is_active: Mapped[bool] = mapped_column(default=True)


class Device(Base):
    """A kiosk, display screen or counter survey tablet; it authenticates with a revocable
    token. A tablet is bound to one counter (it offers the survey of that counter's ticket)."""

    __tablename__ = "device"
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("site.id"))
    kind: Mapped[str] = mapped_column(sa.String(16))
    name: Mapped[str] = mapped_column(sa.String(100))
    token_hash: Mapped[str] = mapped_column(sa.String(128), unique=True)
    board_id: Mapped[int | None] = mapped_column(sa.ForeignKey("display_board.id"))
    counter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("counter.id"))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime | None]


class ServiceDay(Base):
    """The per-(service, day) sequence row: last ticket number and quota use."""

    __tablename__ = "service_day"
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("service.id"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    last_seq: Mapped[int] = mapped_column(default=0)
    quota_used: Mapped[int] = mapped_column(default=0)
    # Bookings held for this day (also counted in quota_used); see app/services/booking.py.
    booked: Mapped[int] = mapped_column(default=0, server_default="0")


class Booking(Base):
    __tablename__ = "booking"
    __table_args__ = (
        sa.Index("ix_booking_service_slot", "service_id", "slot_start"),
        sa.Index("ix_booking_status_slot_end", "status", "slot_end"),
        sa.Index("ix_booking_phone", "phone"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("site.id"))
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"))
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("service.id"))
    day: Mapped[date] = mapped_column(index=True)
    slot_start: Mapped[datetime]
    slot_end: Mapped[datetime]
    status: Mapped[str] = mapped_column(sa.String(16), default="booked")
    name: Mapped[str | None] = mapped_column(sa.String(200))
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    consent_at: Mapped[datetime | None]
    consent_version: Mapped[str | None] = mapped_column(sa.String(16))
    lang: Mapped[str | None] = mapped_column(sa.String(2))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    checked_in_at: Mapped[datetime | None]
    # The ticket made at check-in (ticket.booking_id links back; no FK to avoid a cycle).
    ticket_id: Mapped[int | None]
    # A visit with several services: the later steps, started at check-in.
    next_service_ids: Mapped[list[Any] | None] = mapped_column(sa.JSON)


class BookingEvent(Base):
    """Append-only history of a booking's changes after it was made (today: cancelled), so
    the webhook fan-out, which reads committed rows past a cursor, can publish them."""

    __tablename__ = "booking_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(sa.ForeignKey("booking.id"), index=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("site.id"))
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("service.id"))
    type: Mapped[str] = mapped_column(sa.String(20))
    at: Mapped[datetime]


class SlotCount(Base):
    """Bookings per (service, slot), updated atomically so capacity holds under races."""

    __tablename__ = "slot_count"
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("service.id"), primary_key=True)
    slot_start: Mapped[datetime] = mapped_column(primary_key=True)
    booked: Mapped[int] = mapped_column(default=0)


class RateLimitHit(Base):
    """Fixed-window request counters shared by every server process (app/api/ratelimit.py)."""

    __tablename__ = "rate_limit_hit"
    bucket: Mapped[str] = mapped_column(sa.String(160), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(primary_key=True)
    hits: Mapped[int] = mapped_column(default=0)


class Ticket(Base):
    __tablename__ = "ticket"
    __table_args__ = (
        # A visit's ticket moves through several services' queues keeping its number, so the
        # number is what is unique in a site's day (prefixes are unique per site).
        sa.UniqueConstraint("site_id", "day", "number"),
        sa.Index("ix_ticket_queue", "service_id", "status", "sort_at"),
        sa.Index("ix_ticket_site_day", "site_id", "day"),
        sa.Index("ix_ticket_counter_status", "counter_id", "status"),
        # The head of a counter's queue (call-next), priority and regular tickets apart.
        *(sa.Index(f"ix_ticket_head_{name}", "day", "sort_at", "id",
                   postgresql_where=sa.text(where), sqlite_where=sa.text(where))
          for name, where in (("regular", "status = 'waiting' AND priority IS NULL"),
                              ("priority", "status = 'waiting' AND priority IS NOT NULL"))),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("site.id"))
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"))
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("service.id"))
    day: Mapped[date]
    seq: Mapped[int]
    number: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16), default="waiting")
    priority: Mapped[str | None] = mapped_column(sa.String(20))
    channel: Mapped[str] = mapped_column(sa.String(16), default="kiosk")
    issued_at: Mapped[datetime]
    # Queue order: issue time for walk-ins, slot start for checked-in bookings.
    sort_at: Mapped[datetime]
    called_at: Mapped[datetime | None]
    first_called_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    call_count: Mapped[int] = mapped_column(default=0)
    counter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("counter.id"))
    officer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    tracking_code: Mapped[str] = mapped_column(sa.String(24), unique=True)
    transferred_from_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ticket.id"))
    booking_id: Mapped[int | None] = mapped_column(sa.ForeignKey("booking.id"))
    note: Mapped[str | None] = mapped_column(sa.String(500))
    # A visit with several steps (visit_step rows); false for a single-service ticket.
    has_steps: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # When it joined the current step's queue (null: at issue); waits are counted from here.
    queued_at: Mapped[datetime | None]
    service: Mapped[Service] = relationship(lazy="joined", foreign_keys=[service_id])


class VisitStep(Base):
    """One service of a visit, in order. The ticket is at the step whose status is `current`
    (its own status says where it is in that queue); see app/domain/visits.py."""

    __tablename__ = "visit_step"
    __table_args__ = (sa.Index("ix_visit_step_ticket", "ticket_id", "position"),
                      sa.Index("ix_visit_step_service_day", "service_id", "day"),
                      sa.Index("ix_visit_step_site_day", "site_id", "day"))
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("ticket.id"))
    position: Mapped[int]
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("site.id"))
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("service.id"))
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"))
    day: Mapped[date]
    status: Mapped[str] = mapped_column(sa.String(16))
    # The step's place in the service's daily quota was taken (given back if it is dropped).
    quota_taken: Mapped[bool] = mapped_column(default=False)
    package_id: Mapped[int | None] = mapped_column(sa.ForeignKey("service_package.id"))
    added_by: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    queued_at: Mapped[datetime | None]
    called_at: Mapped[datetime | None]  # first call at this step
    finished_at: Mapped[datetime | None]


class ServicePackage(Base):
    """A named visit an MPP offers ("Pindah datang"): its services, in order, in one tap."""

    __tablename__ = "service_package"
    __table_args__ = (sa.UniqueConstraint("site_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("site.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(32))
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.String(500))
    service_ids: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    is_active: Mapped[bool] = mapped_column(default=True)


class TicketEvent(Base):
    """Append-only history: every state change of every ticket."""

    __tablename__ = "ticket_event"
    __table_args__ = (
        sa.Index("ix_ticket_event_site_day", "site_id", "day", "type"),
        # The day's last finished services of a service (the waiting estimate), newest first.
        sa.Index("ix_ticket_event_service_day_type", "service_id", "day", "type", "id"),
        sa.Index("ix_ticket_event_counter_day", "counter_id", "day"),
        sa.Index("ix_ticket_event_agency_day", "agency_id", "day"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("ticket.id"), index=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("site.id"))
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"))
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("service.id"))
    counter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("counter.id"))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    type: Mapped[str] = mapped_column(sa.String(20))
    from_status: Mapped[str | None] = mapped_column(sa.String(16))
    to_status: Mapped[str] = mapped_column(sa.String(16))
    at: Mapped[datetime]
    day: Mapped[date]
    # Local hour (0-23) and ISO weekday (1-7) so hourly/weekday stats need no time-zone SQL.
    hour: Mapped[int]
    weekday: Mapped[int]
    priority: Mapped[bool] = mapped_column(default=False)
    # Seconds waited (on the first call) or served (on finish); null otherwise.
    duration_seconds: Mapped[int | None]
    note: Mapped[str | None] = mapped_column(sa.String(500))


class IdempotencyKey(Base):
    __tablename__ = "idempotency_key"
    scope: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    # Null only inside the transaction that claims the key.
    ticket_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ticket.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SurveyResponse(Base):
    __tablename__ = "survey_response"
    __table_args__ = (sa.Index("ix_survey_site_day", "site_id", "day"),
                      sa.Index("ix_survey_agency_day", "agency_id", "day"))
    id: Mapped[int] = mapped_column(primary_key=True)
    # None for a paper questionnaire entered by a manager (source 'paper' or 'field').
    ticket_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ticket.id"), unique=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("site.id"))
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"))
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("service.id"))
    counter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("counter.id"))
    day: Mapped[date]
    u1: Mapped[int]
    u2: Mapped[int]
    u3: Mapped[int]
    u4: Mapped[int]
    u5: Mapped[int]
    u6: Mapped[int]
    u7: Mapped[int]
    u8: Mapped[int]
    u9: Mapped[int]
    comment: Mapped[str | None] = mapped_column(sa.Text)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    # 'online' (the citizen's link), 'tablet' (counter tablet), 'paper' (entered by a manager).
    source: Mapped[str] = mapped_column(sa.String(16), default="online",
                                        server_default="online")


class CounterBreak(Base):
    """One break of a counter; ended_at is None while it lasts (stats add up the time)."""

    __tablename__ = "counter_break"
    __table_args__ = (sa.Index("ix_counter_break_site_start", "site_id", "started_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    counter_id: Mapped[int] = mapped_column(sa.ForeignKey("counter.id"))
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("site.id"))
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    reason: Mapped[str] = mapped_column(sa.String(200))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class AuditLog(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    username: Mapped[str | None] = mapped_column(sa.String(64))
    action: Mapped[str] = mapped_column(sa.String(32))
    entity: Mapped[str] = mapped_column(sa.String(32))
    entity_id: Mapped[int | None]
    changes: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    ip: Mapped[str | None] = mapped_column(sa.String(64))


class Setting(Base):
    """Site-wide settings editable at run time (alert thresholds, IKM weights, ...)."""

    __tablename__ = "app_setting"
    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(sa.JSON)


class OutboxMessage(Base):
    """Something to deliver outside (a citizen's message, a webhook), written in the same
    transaction as its cause and sent by the relay (app/services/outbox.py).

    `key` is the cause's identity ("ticket.called:123:1"): the same cause never makes a second
    row, and the key goes to the provider with every attempt, so a retried request is
    recognised there. `target` is where it goes: a phone number (personal data: purged with the
    retention period) or a webhook endpoint's id."""

    __tablename__ = "outbox"
    __table_args__ = (
        # The relay's work list: rows still to send (or whose sender died), by due time.
        sa.Index("ix_outbox_due", "next_attempt_at",
                 postgresql_where=sa.text("status IN ('pending', 'sending')"),
                 sqlite_where=sa.text("status IN ('pending', 'sending')")),
        sa.Index("ix_outbox_provider_ref", "provider_ref"),
        sa.Index("ix_outbox_ticket", "ticket_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16))  # "message" | "webhook" | ...
    topic: Mapped[str] = mapped_column(sa.String(40))  # message type or event type
    key: Mapped[str] = mapped_column(sa.String(160), unique=True)
    site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("site.id"))
    ticket_id: Mapped[int | None]
    booking_id: Mapped[int | None]
    target: Mapped[str | None] = mapped_column(sa.String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    # pending -> sending (claimed, leased) -> sent -> delivered | read; failed (given up or
    # refused); skipped (switched off before it went).
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]
    lease_token: Mapped[str | None] = mapped_column(sa.String(32))
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    provider_ref: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]


class TicketContact(Base):
    """A citizen's opt-in phone for one ticket (never on the ticket row, which boards, exports
    and statistics read). Consent is kept with its time and the version of the text shown."""

    __tablename__ = "ticket_contact"
    __table_args__ = (sa.Index("ix_ticket_contact_phone_day", "phone", "day"),
                      sa.Index("ix_ticket_contact_holder", "holder", "service_id", "day"),
                      sa.Index("ix_ticket_contact_service_day", "service_id", "day"))
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("ticket.id"), primary_key=True)
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("service.id"))
    day: Mapped[date]
    phone: Mapped[str | None] = mapped_column(sa.String(20))  # null once purged
    lang: Mapped[str] = mapped_column(sa.String(2), default="id")
    consent_at: Mapped[datetime | None]
    consent_version: Mapped[str | None] = mapped_column(sa.String(16))
    verified: Mapped[bool] = mapped_column(default=False)
    # The "a few people ahead" message is written once per ticket.
    ahead_sent: Mapped[bool] = mapped_column(default=False)
    # The address the citizen reached us at: links in messages start with it (unless
    # MPP_PUBLIC_URL says otherwise).
    base_url: Mapped[str | None] = mapped_column(sa.String(200))
    # Who holds the ticket, hashed: the phone, or the browser that joined by QR code.
    holder: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# Integration tables live in their own module; importing it registers them on Base.metadata.
from app.db import models_integration as _models_integration  # noqa: E402, F401


class PhoneCode(Base):
    """A one-time code sent to a phone (app/services/otp.py); only its HMAC is kept."""

    __tablename__ = "phone_code"
    __table_args__ = (sa.Index("ix_phone_code_holder", "holder", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    holder: Mapped[str] = mapped_column(sa.String(64))  # the phone, hashed
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None]
