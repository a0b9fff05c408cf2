"""Online booking: public catalog, slots, book/look up/cancel by code, kiosk or officer check-in."""

from __future__ import annotations

import io
import logging
from dataclasses import asdict
from datetime import date, datetime
from typing import Annotated, Any, Literal

import segno
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.api import ratelimit
from app.api.deps import CtxDep
from app.api.routes_queue import ticket_out
from app.api.schemas import ContactIn, Id
from app.db.models import Booking, Service
from app.db.session import unit_of_work
from app.services import booking as svc
from app.services import catalog, otp
from app.services.context import Ctx
from app.services.sitetime import local_day
from app.state import state_of

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["booking"])

Code = Annotated[str, StringConstraints(min_length=1, max_length=32)]
ReadLimit = Depends(ratelimit.limit_by_ip("booking_read", lambda p: (p.ip_read_per_minute, 60)))
LookupLimit = Depends(ratelimit.limit_by_ip("booking_lookup",
                                            lambda p: (p.ip_lookup_per_minute, 60)))
CreateLimit = Depends(ratelimit.limit_booking_create)


class BookingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service_id: Id
    slot_start: datetime
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)] | None = None
    consent: bool = False
    # A visit with several services: the later steps (check-in starts the visit).
    next_service_ids: Annotated[list[Id], Field(max_length=5)] = []
    # Opt-in for WhatsApp/SMS messages (confirmed, reminders, cancelled, then the ticket's).
    contact: ContactIn | None = None
    lang: Literal["id", "en"] | None = None


class PolicyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    checkin_before_minutes: Annotated[int, Field(ge=0, le=240)] | None = None
    checkin_after_minutes: Annotated[int, Field(ge=0, le=240)] | None = None
    late_policy: Annotated[str, StringConstraints(pattern=r"^(walk_in|refuse)$")] | None = None
    book_lead_minutes: Annotated[int, Field(ge=0, le=1440)] | None = None
    max_active_per_phone: Annotated[int, Field(ge=1, le=100)] | None = None
    ip_read_per_minute: Annotated[int, Field(ge=0, le=100000)] | None = None
    ip_lookup_per_minute: Annotated[int, Field(ge=0, le=100000)] | None = None
    ip_create_per_hour: Annotated[int, Field(ge=0, le=100000)] | None = None
    phone_create_per_day: Annotated[int, Field(ge=0, le=100000)] | None = None
    ip_create_per_minute: Annotated[int, Field(ge=0, le=100000)] | None = None
    device_create_per_minute: Annotated[int, Field(ge=0, le=100000)] | None = None
    device_create_per_hour: Annotated[int, Field(ge=0, le=100000)] | None = None
    # 0 switches the cap off.
    open_per_phone_service: Annotated[int, Field(ge=0, le=100)] | None = None


def _booking_out(ctx: Ctx, booking: Booking) -> dict[str, Any]:
    service = ctx.session.get(Service, booking.service_id)
    assert service is not None
    out = svc.public_view(booking, service, svc.get_policy(ctx.session))
    out["qr_svg_url"] = f"/api/v1/bookings/{booking.code}/qr.svg"
    out["status_url"] = f"/booking?code={booking.code}"
    out["next_service_ids"] = list(booking.next_service_ids or [])
    return out


@router.get("/booking/catalog", dependencies=[ReadLimit])
def booking_catalog(ctx: CtxDep, site_id: Id | None = None,
                    site_code: Annotated[str | None, Query(max_length=32)] = None
                    ) -> dict[str, Any]:
    """Agencies and their services that take online bookings, with the standar pelayanan."""
    site = catalog.resolve_site(ctx.session, site_id, site_code)
    agencies = []
    for entry in catalog.catalog(ctx.session, site, ctx.now):
        services = []
        for state in entry.services:
            s = state.service
            if not s.booking_enabled:
                continue
            first, last = svc.booking_days(s, site, ctx.now)
            services.append({
                "id": s.id, "code": s.code, "name": s.name, "prefix": s.prefix,
                "requirements": s.requirements, "procedure": s.procedure, "fee": s.fee,
                "completion_time": s.completion_time, "product": s.product,
                "complaints": s.complaints, "typical_minutes": s.typical_minutes,
                "slot_minutes": s.slot_minutes,
                "slot_capacity": s.slot_capacity, "requires_contact": s.booking_requires_contact,
                "requires_phone_otp": s.requires_phone_otp,
                "first_day": first.isoformat(), "last_day": last.isoformat(),
            })
        if services:
            a = entry.agency
            agencies.append({"id": a.id, "code": a.code, "name": a.name, "floor": a.floor,
                             "services": services})
    return {
        "site": {"id": site.id, "code": site.code, "name": site.name,
                 "timezone": site.timezone, "today": local_day(site, ctx.now).isoformat()},
        "agencies": agencies,
    }


@router.get("/booking/slots", dependencies=[ReadLimit])
def booking_slots(ctx: CtxDep, service_id: Id, date_: Annotated[date, Query(alias="date")]
                  ) -> dict[str, Any]:
    """A day's slots with the places left; `closed` on holidays and days without hours."""
    service = svc.bookable_service(ctx.session, service_id)
    slots, facts = svc.list_slots(ctx.session, service, date_, ctx.now)
    return {
        "service_id": service.id, "date": date_.isoformat(), **facts,
        "slots": [
            {"start": s.start.isoformat(), "end": s.end.isoformat(), "capacity": s.capacity,
             "booked": s.booked, "left": s.left, "available": s.bookable,
             "past": s.start <= ctx.now}
            for s in slots
        ],
    }


@router.post("/bookings", status_code=201, dependencies=[CreateLimit])
def create_booking(body: BookingCreate, ctx: CtxDep, request: Request) -> dict[str, Any]:
    """Book a slot; answers the booking code and its QR code (the kiosk scans it)."""
    if body.contact is not None and body.contact.otp_id is not None:
        # Its own transaction, before the request's session is first used: on SQLite (one
        # writer at a time) it would otherwise wait for the request's own lock, for ever.
        with unit_of_work(state_of(request.app).session_factory) as session:
            otp.count_attempt(session, body.contact.otp_id)
    policy = svc.get_policy(ctx.session)
    service = svc.bookable_service(ctx.session, body.service_id)
    phone, consent = body.phone, body.consent
    if body.contact is not None:
        phone, consent = body.contact.phone, body.contact.consent
    if phone and (service.booking_requires_contact or body.contact is not None):
        ratelimit.limit_phone(ctx.session, svc.normalize_phone(phone), policy, ctx.now)
    booking = svc.create_booking(ctx, service_id=body.service_id, slot_start=body.slot_start,
                                 name=body.name, phone=phone, consent=consent,
                                 policy=policy, next_service_ids=body.next_service_ids,
                                 lang=body.lang, opt_in=body.contact is not None,
                                 otp_id=body.contact.otp_id if body.contact else None,
                                 otp_code=body.contact.otp_code if body.contact else None,
                                 otp_secret=state_of(request.app).settings.secret_key)
    return _booking_out(ctx, booking)


@router.get("/bookings/{code}", dependencies=[LookupLimit])
def get_booking(code: Code, ctx: CtxDep) -> dict[str, Any]:
    """Public look-up by code: no name or phone number, ever."""
    return _booking_out(ctx, svc.find_booking(ctx.session, code))


@router.get("/bookings/{code}/qr.svg", dependencies=[LookupLimit],
            response_class=Response, responses={200: {"content": {"image/svg+xml": {}}}})
def booking_qr(code: Code, ctx: CtxDep) -> Response:
    booking = svc.find_booking(ctx.session, code)
    buf = io.BytesIO()
    segno.make(booking.code, error="m").save(buf, kind="svg", scale=8, border=2,
                                             xmldecl=False, svgns=True)
    return Response(buf.getvalue(), media_type="image/svg+xml",
                    headers={"Cache-Control": "private, max-age=3600"})


@router.post("/bookings/{code}/cancel", dependencies=[LookupLimit])
def cancel_booking(code: Code, ctx: CtxDep) -> dict[str, Any]:
    return _booking_out(ctx, svc.cancel_booking(ctx, code))


@router.post("/bookings/{code}/check-in", status_code=201,
             responses={200: {"description": "Already checked in: the same ticket"}})
def check_in(code: Code, ctx: CtxDep) -> object:
    """Kiosk (device token) or staff: the booking becomes a ticket (201; a repeat answers 200)."""
    result = svc.check_in(ctx, code)
    ticket = ticket_out(ctx, result.ticket, result.people_ahead, result.estimated_wait_minutes)
    service = result.ticket.service
    body = {
        "booking": _booking_out(ctx, result.booking),
        "late": result.late,
        "ticket": ticket.model_dump(mode="json"),
        "service": {"id": service.id, "name": service.name},
        "agency": {"id": service.agency.id, "name": service.agency.name,
                   "floor": service.agency.floor},
        "site": {"id": service.agency.site.id, "name": service.agency.site.name,
                 "timezone": service.agency.site.timezone},
    }
    return JSONResponse(body, status_code=201 if result.created else 200)


# --- staff ----------------------------------------------------------------------------------


@router.get("/bookings")
def list_bookings(ctx: CtxDep, service_id: Id, date_: Annotated[date, Query(alias="date")]
                  ) -> dict[str, Any]:
    """Staff list of a day's bookings; phone numbers masked, and the look is audited."""
    return svc.staff_list(ctx, service_id, date_)


@router.get("/booking/counts")
def counts(ctx: CtxDep, site_id: Id, from_: Annotated[date, Query(alias="from")],
           to: date, agency_id: Id | None = None, service_id: Id | None = None
           ) -> dict[str, int]:
    """Bookings by outcome for the dashboard and reports."""
    return svc.staff_counts(ctx, site_id, from_, to, agency_id, service_id)


@router.get("/booking/policy")
def get_policy(ctx: CtxDep) -> dict[str, Any]:
    return asdict(svc.read_policy(ctx))


@router.put("/booking/policy")
def put_policy(body: PolicyUpdate, ctx: CtxDep) -> dict[str, Any]:
    return asdict(svc.set_policy(ctx, body.model_dump(exclude_none=True)))
