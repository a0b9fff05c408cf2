"""Request and response bodies of the public API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    computed_field,
    field_validator,
)

from app.domain import limits as L
from app.domain.timezones import timezone_warnings

Str200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=L.NAME)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=L.CODE,
                                        pattern=r"^[A-Za-z0-9_.-]+$")]
Text = Annotated[str, StringConstraints(max_length=L.FREE_TEXT)]
Short = Annotated[str, StringConstraints(max_length=L.NAME)]
ID_MAX = 2**31 - 1  # every id column is a 32-bit integer
Id = Annotated[int, Field(ge=1, le=ID_MAX)]


def parse_id(value: str | None, field: str = "id") -> int | None:
    """An id from a query string or websocket path: None when empty, 422 when not 1..ID_MAX."""
    if value is None or value == "":
        return None
    from app.domain.errors import InvalidValue

    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= ID_MAX:
        raise InvalidValue(field, "harus bilangan bulat positif", "must be a positive integer")
    return int(value)
OpeningHours = dict[str, list[list[str]]] | None
# Where a visit's ticket joins its next step's queue (app/domain/visits.py).
VisitRequeue = Literal["original", "back"]
# "other" is refused by the domain with a message (UU 25/2009 Pasal 29(2)), not by the schema.
PriorityName = Literal["lansia", "disabilitas", "ibu_hamil", "anak", "korban_bencana", "sakit",
                       "other"]


def _no_nul(value: Any) -> Any:
    """No NUL character in any text (PostgreSQL cannot store it; no person types it)."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    if isinstance(value, list | tuple):
        for item in value:
            _no_nul(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _no_nul(key)
            _no_nul(item)
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True)

    @field_validator("*", mode="before")
    @classmethod
    def _reject_nul(cls, value: Any) -> Any:
        return _no_nul(value)


class ORM(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- sites ----------------------------------------------------------------------------------
class SiteCreate(Strict):
    code: Code
    name: Str200
    timezone: Annotated[str, StringConstraints(min_length=1,
                                               max_length=L.TIMEZONE)] = "Asia/Jakarta"
    address: Annotated[str, StringConstraints(max_length=L.ADDRESS)] | None = None
    max_consecutive_priority: Annotated[int, Field(ge=1, le=100)] | None = 3
    require_display_token: bool = False
    visit_requeue: VisitRequeue = "original"
    visit_no_show_cancels: bool = False
    # Start with this year's and next year's national holidays (holidays package).
    prefill_holidays: bool = True


class SiteUpdate(Strict):
    code: Code | None = None
    name: Str200 | None = None
    timezone: Annotated[str, StringConstraints(min_length=1, max_length=L.TIMEZONE)] | None = None
    address: Annotated[str, StringConstraints(max_length=L.ADDRESS)] | None = None
    max_consecutive_priority: Annotated[int, Field(ge=1, le=100)] | None = None
    require_display_token: bool | None = None
    visit_requeue: VisitRequeue | None = None
    visit_no_show_cancels: bool | None = None
    is_active: bool | None = None


class Notice(BaseModel):
    code: str
    message: str
    message_en: str


class SiteRead(ORM):
    id: int
    code: str
    name: str
    timezone: str
    address: str | None
    max_consecutive_priority: int | None
    require_display_token: bool
    visit_requeue: str = "original"
    visit_no_show_cancels: bool = False
    is_active: bool

    @computed_field  # type: ignore[prop-decorator]
    @property
    def warnings(self) -> list[Notice]:
        """E.g. a time zone that is not WIB, WITA or WIT (allowed, but said)."""
        return [Notice(code=w.code, message=w.message_id, message_en=w.message_en)
                for w in timezone_warnings(self.timezone)]


# --- agencies -------------------------------------------------------------------------------
class AgencyCreate(Strict):
    site_id: Id
    code: Code
    name: Str200
    floor: Annotated[str, StringConstraints(max_length=L.FLOOR)] | None = None
    zone: Annotated[str, StringConstraints(max_length=L.ZONE)] | None = None
    color: Annotated[str, StringConstraints(pattern=r"^#[0-9A-Fa-f]{6}$")] | None = None


class AgencyUpdate(Strict):
    code: Code | None = None
    name: Str200 | None = None
    floor: Annotated[str, StringConstraints(max_length=L.FLOOR)] | None = None
    zone: Annotated[str, StringConstraints(max_length=L.ZONE)] | None = None
    color: Annotated[str, StringConstraints(pattern=r"^#[0-9A-Fa-f]{6}$")] | None = None
    is_active: bool | None = None


class AgencyRead(ORM):
    id: int
    site_id: int
    code: str
    name: str
    floor: str | None
    zone: str | None
    color: str | None
    is_active: bool


# --- services -------------------------------------------------------------------------------
class _ServiceFields(Strict):
    daily_quota: Annotated[int, Field(ge=0, le=100000)] | None = None
    typical_minutes: Annotated[int, Field(ge=1, le=480)] = 10
    opening_hours: OpeningHours = None
    requirements: Text | None = None
    procedure: Text | None = None
    completion_time: Short | None = None
    fee: Short | None = None
    product: Annotated[str, StringConstraints(max_length=L.LONG_TEXT)] | None = None
    complaints: Annotated[str, StringConstraints(max_length=L.LONG_TEXT)] | None = None
    booking_enabled: bool = False
    slot_minutes: Annotated[int, Field(ge=5, le=240)] = 30
    slot_capacity: Annotated[int, Field(ge=1, le=1000)] = 5
    booking_days_ahead: Annotated[int, Field(ge=0, le=90)] = 7
    booking_quota_percent: Annotated[int, Field(ge=0, le=100)] = 50
    booking_requires_contact: bool = False
    requires_phone_otp: bool = False
    priority_sick: bool = False


class ServiceCreate(_ServiceFields):
    agency_id: Id
    code: Code
    name: Str200
    prefix: Annotated[str, StringConstraints(min_length=1, max_length=L.PREFIX)]


class ServiceUpdate(Strict):
    agency_id: Id | None = None
    code: Code | None = None
    name: Str200 | None = None
    prefix: Annotated[str, StringConstraints(min_length=1, max_length=L.PREFIX)] | None = None
    daily_quota: Annotated[int, Field(ge=0, le=100000)] | None = None
    typical_minutes: Annotated[int, Field(ge=1, le=480)] | None = None
    opening_hours: OpeningHours = None
    requirements: Text | None = None
    procedure: Text | None = None
    completion_time: Short | None = None
    fee: Short | None = None
    product: Annotated[str, StringConstraints(max_length=L.LONG_TEXT)] | None = None
    complaints: Annotated[str, StringConstraints(max_length=L.LONG_TEXT)] | None = None
    booking_enabled: bool | None = None
    slot_minutes: Annotated[int, Field(ge=5, le=240)] | None = None
    slot_capacity: Annotated[int, Field(ge=1, le=1000)] | None = None
    booking_days_ahead: Annotated[int, Field(ge=0, le=90)] | None = None
    booking_quota_percent: Annotated[int, Field(ge=0, le=100)] | None = None
    booking_requires_contact: bool | None = None
    requires_phone_otp: bool | None = None
    priority_sick: bool | None = None
    is_active: bool | None = None


class ServiceRead(ORM):
    id: int
    agency_id: int
    site_id: int
    code: str
    name: str
    prefix: str
    daily_quota: int | None
    typical_minutes: int
    opening_hours: dict[str, Any] | None
    requirements: str | None
    procedure: str | None
    completion_time: str | None
    fee: str | None
    product: str | None
    complaints: str | None
    booking_enabled: bool
    slot_minutes: int
    slot_capacity: int
    booking_days_ahead: int
    booking_quota_percent: int
    booking_requires_contact: bool
    requires_phone_otp: bool = False
    priority_sick: bool
    is_active: bool


# --- counters -------------------------------------------------------------------------------
class CounterCreate(Strict):
    agency_id: Id
    name: Str200
    number: Annotated[int, Field(ge=1, le=9999)]
    zone: Annotated[str, StringConstraints(max_length=L.ZONE)] | None = None
    service_ids: Annotated[list[Id], Field(max_length=L.NAME)] = []


class CounterUpdate(Strict):
    agency_id: Id | None = None
    name: Str200 | None = None
    number: Annotated[int, Field(ge=1, le=9999)] | None = None
    zone: Annotated[str, StringConstraints(max_length=L.ZONE)] | None = None
    service_ids: Annotated[list[Id], Field(max_length=L.NAME)] | None = None
    is_active: bool | None = None


class CounterRead(BaseModel):
    id: int
    agency_id: int
    name: str
    number: int
    zone: str | None
    service_ids: list[int]
    is_active: bool
    is_open: bool
    officer_id: int | None

    @classmethod
    def of(cls, c: Any) -> CounterRead:
        return cls(id=c.id, agency_id=c.agency_id, name=c.name, number=c.number, zone=c.zone,
                   service_ids=sorted(s.id for s in c.services), is_active=c.is_active,
                   is_open=c.is_open, officer_id=c.officer_id)


# --- users ----------------------------------------------------------------------------------
Username = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2,
                                            max_length=L.USERNAME, pattern=r"^[A-Za-z0-9_.@-]+$")]
Password = Annotated[str, StringConstraints(min_length=1, max_length=L.PASSWORD)]


class UserCreate(Strict):
    username: Username
    password: Password
    full_name: Annotated[str, StringConstraints(max_length=L.NAME)] | None = None
    role: Literal["admin", "manager", "officer"]
    agency_id: Id | None = None
    site_id: Id | None = None


class UserUpdate(Strict):
    username: Username | None = None
    password: Password | None = None
    full_name: Annotated[str, StringConstraints(max_length=L.NAME)] | None = None
    role: Literal["admin", "manager", "officer"] | None = None
    agency_id: Id | None = None
    site_id: Id | None = None
    is_active: bool | None = None


class UserRead(ORM):
    id: int
    username: str
    full_name: str | None
    role: str
    agency_id: int | None
    site_id: int | None
    is_active: bool


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int


# --- tickets --------------------------------------------------------------------------------
class ContactIn(Strict):
    """An opt-in phone for messages about this ticket or booking (never echoed back); where
    the service asks for it, with the one-time code sent by POST /api/v1/otp."""

    phone: Annotated[str, StringConstraints(min_length=1, max_length=L.PHONE)]
    consent: bool = False
    otp_id: Id | None = None
    otp_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{4,8}$")] | None = None


class OtpRequest(Strict):
    phone: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    consent: bool = False
    lang: Literal["id", "en"] | None = None


class ContactAdd(ContactIn):
    lang: Literal["id", "en"] | None = None


class TicketCreate(Strict):
    service_id: Id
    priority: PriorityName | None = None
    contact: ContactIn | None = None
    lang: Literal["id", "en"] | None = None
    # A visit with several services: the later steps, in order (up to five more).
    next_service_ids: Annotated[list[Id], Field(max_length=5)] = []
    package_id: Id | None = None


class StepRead(BaseModel):
    id: int
    position: int
    service_id: int
    agency_id: int
    status: str
    current: bool


class StepAdd(Strict):
    service_id: Id


class StepOrder(Strict):
    step_ids: Annotated[list[Id], Field(max_length=6)]


class TicketRead(BaseModel):
    id: int
    number: str
    service_id: int
    agency_id: int
    status: str
    priority: str | None
    channel: str
    issued_at: datetime
    called_at: datetime | None = None
    counter_id: int | None = None
    people_ahead: int
    estimated_wait_minutes: int
    estimated_wait_range: tuple[int, int]
    #: The citizen's credential (tracking page, SKM survey): only in the answer to whoever
    #: issues the ticket to the citizen (kiosk, partner, the citizen's phone); null for staff.
    tracking_code: str | None = None
    transferred_from_id: int | None = None
    steps: list[StepRead] = []


class TransferIn(Strict):
    service_id: Id
    note: Annotated[str, StringConstraints(max_length=L.LONG_TEXT)] | None = None


class HoldIn(Strict):
    note: Annotated[str, StringConstraints(max_length=L.LONG_TEXT)] | None = None


class OpenCounterIn(Strict):
    take_over: bool = False


class CallTicketIn(Strict):
    counter_id: Id


# --- service packages (visits with several services) ----------------------------------------
class PackageCreate(Strict):
    site_id: Id
    code: Code
    name: Str200
    description: Annotated[str, StringConstraints(max_length=L.LONG_TEXT)] | None = None
    service_ids: Annotated[list[Id], Field(min_length=1, max_length=6)]


class PackageUpdate(Strict):
    code: Code | None = None
    name: Str200 | None = None
    description: Annotated[str, StringConstraints(max_length=L.LONG_TEXT)] | None = None
    service_ids: Annotated[list[Id], Field(min_length=1, max_length=6)] | None = None
    is_active: bool | None = None


class PackageRead(ORM):
    id: int
    site_id: int
    code: str
    name: str
    description: str | None
    service_ids: list[int]
    is_active: bool
