"""Admin REST: devices (tokens), special days per site, the audit log, retention and purge.

Also registers the daily personal-data purge (UU 27/2022) as a background job of the server.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.api.deps import CtxDep
from app.api.errors import request_lang
from app.api.schemas import Id
from app.db.models import Device, SpecialDay
from app.services import audit_text, audit_view, devices, purge, special_days
from app.services.context import Ctx
from app.state import state_of

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["admin"])

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
HHMM = Annotated[str, StringConstraints(max_length=5)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Word = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- devices --------------------------------------------------------------------------------


class DeviceCreate(_Strict):
    site_id: Id
    kind: Literal["kiosk", "display", "tablet"]
    name: Name
    board_id: Id | None = None
    #: A survey tablet's counter (required for kind "tablet", refused for the others).
    counter_id: Id | None = None


class DeviceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    site_id: int
    kind: str
    name: str
    board_id: int | None
    counter_id: int | None = None
    is_active: bool
    created_at: datetime
    last_seen_at: datetime | None


class DeviceIssued(DeviceRead):
    #: The device token, shown only in this answer (the server keeps a hash).
    token: str
    #: Path and full URL to open on the device; the token signs the screen in.
    path: str
    url: str


@router.get("/devices", response_model=list[DeviceRead])
def list_devices(ctx: CtxDep, site_id: Id | None = None) -> object:
    return devices.list_devices(ctx, site_id)


@router.post("/devices", response_model=DeviceIssued, status_code=201)
def issue_device(body: DeviceCreate, request: Request, ctx: CtxDep) -> object:
    issued = devices.issue_device(ctx, body.model_dump())
    base = str(request.base_url).rstrip("/")
    out = DeviceRead.model_validate(issued.device).model_dump()
    return DeviceIssued(**out, token=issued.token, path=issued.url, url=base + issued.url)


@router.get("/devices/{device_id}", response_model=DeviceRead)
def get_device(device_id: Id, ctx: CtxDep) -> Device:
    return devices.get_device(ctx, device_id)


@router.post("/devices/{device_id}/revoke", response_model=DeviceRead)
def revoke_device(device_id: Id, ctx: CtxDep) -> Device:
    return devices.revoke_device(ctx, device_id)


# --- special days ---------------------------------------------------------------------------


class SpecialDayIn(_Strict):
    day: date
    #: Open ranges that day, e.g. [["08:00", "14:00"]]; empty = closed all day.
    ranges: Annotated[list[Annotated[list[HHMM], Field(min_length=2, max_length=2)]],
                      Field(max_length=12)] = []
    note: Note | None = None


class SpecialDayRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    site_id: int
    day: date
    ranges: list[list[str]]
    note: str | None
    # 'libur_nasional' / 'cuti_bersama' (pre-filled from the holidays package) or None (typed).
    kind: str | None = None
    closed: bool = False

    @classmethod
    def of(cls, row: SpecialDay) -> SpecialDayRead:
        out = cls.model_validate(row)
        out.closed = not row.ranges
        return out


@router.get("/sites/{site_id}/special-days", response_model=list[SpecialDayRead])
def list_special_days(site_id: Id, ctx: CtxDep, start: Annotated[date | None, Query(
        alias="from")] = None) -> object:
    return [SpecialDayRead.of(r) for r in special_days.list_special_days(ctx, site_id, start)]


@router.post("/sites/{site_id}/special-days", response_model=SpecialDayRead, status_code=201)
def put_special_day(site_id: Id, body: SpecialDayIn, ctx: CtxDep, response: Response) -> object:
    """Create the special day of that date, or replace it (200) when one exists."""
    row, created = special_days.put_special_day(ctx, site_id, body.model_dump())
    if not created:
        response.status_code = 200
    return SpecialDayRead.of(row)


class PrefillRead(BaseModel):
    year: int
    added: int
    kept: int


@router.post("/sites/{site_id}/special-days/prefill", response_model=PrefillRead)
def prefill_special_days(site_id: Id, ctx: CtxDep, year: Annotated[int | None, Query(
        ge=1990, le=2100)] = None) -> object:
    """Add the national holidays and cuti bersama of `year` (default: next year at the site)
    that the site lacks; dates it already has are kept."""
    return special_days.prefill_holidays(ctx, site_id, year)


@router.delete("/sites/{site_id}/special-days/{day}", status_code=204)
def delete_special_day(site_id: Id, day: date, ctx: CtxDep) -> Response:
    special_days.delete_special_day(ctx, site_id, day)
    return Response(status_code=204)


# --- audit log ------------------------------------------------------------------------------


class AuditRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    at: datetime
    user_id: int | None
    username: str | None
    action: str
    entity: str
    entity_id: int | None
    changes: dict[str, Any] | None
    ip: str | None
    # In words, in the request's language: who did what to which named thing.
    summary: str | None = None
    details: list[str] = []


class AuditPage(BaseModel):
    items: list[AuditRead]
    total: int
    limit: int
    offset: int


@router.get("/audit", response_model=AuditPage)
def audit_log(
    ctx: CtxDep,
    request: Request,
    user: Word | None = None,
    entity: Word | None = None,
    action: Word | None = None,
    entity_id: Id | None = None,
    start: Annotated[date | datetime | None, Query(alias="from")] = None,
    end: Annotated[date | datetime | None, Query(alias="to")] = None,
    tz: Annotated[str, StringConstraints(max_length=64)] = "Asia/Jakarta",
    limit: Annotated[int, Query(ge=1, le=audit_view.MAX_LIMIT)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> object:
    """Newest first. `from`/`to` take a date (whole days in `tz`) or a date-time."""
    from app.domain import numbering

    numbering.validate_timezone(tz)
    page = audit_view.search(ctx, user=user, entity=entity, action=action, entity_id=entity_id,
                             start=start, end=end, tz=tz, limit=limit, offset=offset)
    audit_text.describe(ctx.session, page.items, request_lang(request))
    return AuditPage(items=[AuditRead.model_validate(r) for r in page.items], total=page.total,
                     limit=limit, offset=offset)


@router.get("/audit/facets")
def audit_facets(ctx: CtxDep, request: Request) -> dict[str, Any]:
    """The entity and action codes present, with their words for the filter menus."""
    found = audit_view.facets(ctx)
    lang = request_lang(request)
    return {**found,
            "entity_labels": {e: audit_text.entity_label(e, lang) for e in found["entities"]},
            "action_labels": {a: audit_text.action_label(a, lang) for a in found["actions"]}}


# --- retention and purge --------------------------------------------------------------------


class RetentionIn(_Strict):
    days: Annotated[int, Field(strict=True)]


class RetentionRead(BaseModel):
    days: int
    default_days: int
    last_run: dict[str, Any] | None


def _retention(ctx: Ctx, request: Request) -> RetentionRead:
    default = state_of(request.app).settings.retention_days
    return RetentionRead(days=purge.retention_days(ctx.session, default), default_days=default,
                         last_run=purge.last_run(ctx.session))


@router.get("/admin/retention", response_model=RetentionRead)
def get_retention(ctx: CtxDep, request: Request) -> object:
    from app.services.policy import require_role

    require_role(ctx.actor, "admin")
    return _retention(ctx, request)


@router.put("/admin/retention", response_model=RetentionRead)
def set_retention(body: RetentionIn, ctx: CtxDep, request: Request) -> object:
    purge.set_retention_days(ctx, body.days)
    return _retention(ctx, request)


@router.post("/admin/purge")
def run_purge(ctx: CtxDep, request: Request) -> dict[str, Any]:
    """Clear personal fields older than the retention period now (the daily job does too)."""
    return purge.run_purge(ctx, state_of(request.app).settings.retention_days).as_dict()
