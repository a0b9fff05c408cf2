"""Joining the queue without a kiosk: the board's rotating QR code, the phone's join page, and
the tracking page's "I'll be late" / "leave the queue" buttons."""

from __future__ import annotations

import io
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request, Response
from fastapi.responses import RedirectResponse

from app.api.deps import AnonCtxDep, CtxDep
from app.api.ratelimit import DEVICE_COOKIE, bump
from app.api.routes_notify import OTP_PER_ADDRESS_HOUR
from app.api.routes_queue import public_base
from app.api.schemas import ID_MAX, Id
from app.db.session import unit_of_work
from app.domain import contact as contact_rules
from app.domain.errors import DomainError
from app.services import catalog, joining, notify, otp
from app.state import state_of
from app.web.pages import ensure_device_cookie
from app.web.templating import page_lang, render

# Path ids outside 32 bits answer 422, not a database overflow.
SiteId = Annotated[int, Path(ge=1, le=ID_MAX)]

router = APIRouter()
HOLDER_COOKIE = DEVICE_COOKIE
# Joins per client address per hour (a whole family behind one phone is fine; a broker's
# script is not). Shared by every process through the database.
JOINS_PER_ADDRESS_HOUR = 20
Code = Annotated[str, Path(max_length=64)]


def _join_url(request: Request, site_id: int, code: str) -> str:
    return public_base(request).rstrip("/") + f"/join/{site_id}?c={code}"


@router.get("/api/v1/join/code", tags=["join"])
def join_code(request: Request, ctx: CtxDep, site_id: Id | None = None, board: Id | None = None
              ) -> dict[str, Any]:
    """What the board's QR code says now (it changes every minute), for a site or a board."""
    if site_id is None:
        if board is None:
            raise DomainError("validation_error")
        site_id = joining.site_of_board(ctx, board)
    site = joining.get_site(ctx, site_id)
    found = joining.current_code(state_of(request.app).settings.secret_key, site.id, ctx.now)
    return {"url": _join_url(request, site.id, found.code), "site_id": site.id,
            "qr": f"/join/qr/{site.id}.svg",
            "expires_at": found.expires_at.isoformat(), "refresh_seconds": 60}


@router.get("/join/qr/{site_id}.svg", tags=["join"])
def join_qr(request: Request, ctx: CtxDep, site_id: SiteId) -> Response:
    import segno

    site = joining.get_site(ctx, site_id)
    found = joining.current_code(state_of(request.app).settings.secret_key, site.id, ctx.now)
    buf = io.BytesIO()
    segno.make(_join_url(request, site.id, found.code), error="m").save(
        buf, kind="svg", scale=5, border=2, dark="#000", light="#fff", xmldecl=False,
        omitsize=True)
    return Response(buf.getvalue(), media_type="image/svg+xml",
                    headers={"Cache-Control": "no-store"})


def _page(request: Request, ctx: Any, site_id: int, code: str, *, status: int = 200,
          error: str | None = None, form: dict[str, Any] | None = None) -> Response:
    site = joining.get_site(ctx, site_id)
    lang = page_lang(request)
    services = [(a.agency, s) for a in catalog.catalog(ctx.session, site, ctx.now)
                for s in a.services]
    consent = contact_rules.CONSENT_TEXT_EN if lang == "en" else contact_rules.CONSENT_TEXT_ID
    response = render(request, "join.html", status_code=status, site=site, code=code,
                      services=services, error=error, consent_text=consent,
                      form=form or {})
    ensure_device_cookie(request, response)
    return response


@router.get("/join/{site_id}", tags=["join"])
def join_page(request: Request, ctx: AnonCtxDep, site_id: SiteId, c: str = "") -> Response:
    try:
        joining.check_code(state_of(request.app).settings.secret_key, site_id, c[:64], ctx.now)
    except DomainError as err:
        return _page(request, ctx, site_id, "", status=err.status,
                     error=err.message(page_lang(request)))
    return _page(request, ctx, site_id, c[:64])


@router.post("/join/{site_id}", tags=["join"])
def join_submit(
    request: Request, ctx: AnonCtxDep, site_id: SiteId,
    code: Annotated[str, Form(max_length=64)],
    service_id: Annotated[int, Form(ge=1, le=2**31 - 1)],
    phone: Annotated[str, Form(max_length=32)] = "",
    consent: Annotated[str, Form(max_length=8)] = "",
    otp_id: Annotated[int | None, Form(ge=1, le=2**31 - 1)] = None,
    otp_code: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    lang = page_lang(request)
    settings = state_of(request.app).settings
    form: dict[str, Any] = {"service_id": service_id, "phone": phone, "consent": bool(consent)}
    ip = request.client.host if request.client else "-"
    try:
        # Counters in their own transaction, before the join's (a refused join still counts)
        # and before the join's session is first used (SQLite has one writer at a time).
        with unit_of_work(state_of(request.app).session_factory) as session:
            bump(session, f"join:{ip}", limit=JOINS_PER_ADDRESS_HOUR, seconds=3600, now=ctx.now)
            needs_otp = joining.needs_confirmed_phone(session, service_id)
            if needs_otp and phone.strip():
                if otp_id is None:
                    bump(session, f"otp:{ip}", limit=OTP_PER_ADDRESS_HOUR, seconds=3600,
                         now=ctx.now)
                else:
                    otp.count_attempt(session, otp_id)
        if needs_otp:
            # A confirmed phone first: the code goes out through the notification channel,
            # then the same form comes back with a field for it.
            if not phone.strip():
                raise DomainError("invalid_value", field="phone",
                                  reason_id="layanan ini memerlukan nomor telepon terverifikasi",
                                  reason_en="this service needs a verified phone number")
            if otp_id is None:
                new_id = joining.request_join_otp(
                    ctx, secret=settings.secret_key, site_id=site_id, code=code,
                    service_id=service_id, phone=phone.strip(), consent=bool(consent),
                    lang=lang)
                return _page(request, ctx, site_id, code, form={**form, "otp_id": new_id})
            form["otp_id"] = otp_id
        contact = notify.check_contact(phone.strip() or None, bool(consent), lang=lang,
                                       browser=request.cookies.get(HOLDER_COOKIE),
                                       otp_id=otp_id, otp_code=otp_code.strip() or None)
        if contact.phone is None and contact.holder is None:
            raise DomainError("invalid_value", field="cookie", reason_id="aktifkan cookie",
                              reason_en="please allow cookies")
        issued = joining.join(ctx, secret=settings.secret_key, site_id=site_id, code=code,
                              service_id=service_id, contact=contact,
                              base_url=public_base(request))
    except DomainError as err:
        ctx.session.rollback()
        field = err.params.get("field") if err.code == "invalid_value" else None
        if field in ("phone", "consent", "otp_code"):
            # Beside its field, in plain words (not "phone: ..." at the top of the page).
            reason = str(err.params.get("reason_en" if lang == "en" else "reason_id", ""))
            form["field_error"] = {"field": field, "message": reason[:1].upper() + reason[1:]}
            return _page(request, ctx, site_id, code, status=err.status, form=form)
        return _page(request, ctx, site_id, code, status=err.status, error=err.message(lang),
                     form=form)
    return RedirectResponse(f"/t/{issued.view.tracking_code}", status_code=303)


@router.post("/t/{tracking_code}/late", tags=["join"])
def late(ctx: AnonCtxDep, tracking_code: Code) -> Response:
    joining.running_late(ctx, tracking_code)
    return RedirectResponse(f"/t/{tracking_code}?late=1", status_code=303)


@router.post("/t/{tracking_code}/leave", tags=["join"])
def leave(ctx: AnonCtxDep, tracking_code: Code) -> Response:
    joining.leave(ctx, tracking_code)
    return RedirectResponse(f"/t/{tracking_code}", status_code=303)
