"""The citizen's screens: the touch kiosk (/kiosk), its ticket QR code, and /t/{code} tracking.

The kiosk page is a shell; its script reads the public catalog and issues tickets through the
REST API with the device token it keeps in localStorage. The tracking page renders the ticket's
state server-side and then polls /api/v1/track.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Annotated, Any

from babel.dates import format_date, format_time
from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, Response
from starlette.convertors import Convertor, register_url_convertor

from app.api import ratelimit
from app.api.deps import CtxDep
from app.api.routes_queue import track as track_api
from app.domain import contact as contact_rules
from app.domain.errors import DomainError
from app.services import devices, tickets
from app.services.sitetime import local_now, opening_hint, service_open_state, special_days
from app.state import state_of
from app.web.lookup_limit import record_miss, refused_page
from app.web.templating import page_lang, render

router = APIRouter(include_in_schema=False)

TRACKING_RE = r"^[A-Za-z0-9_-]{1,64}$"
PAPERS = ("58", "80")
# Paths under /kiosk/ that belong to other screens (e.g. booking check-in) or to this module.
RESERVED = ("checkin", "booking", "qr", "api", "setup", "device", "devices")


class KioskSite(Convertor[str]):
    """A site code in /kiosk/{site_code} that never swallows /kiosk/checkin and friends."""

    regex = r"(?!(?:" + "|".join(RESERVED) + r")(?:$|/))[A-Za-z0-9_.-]{1,32}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("kiosksite", KioskSite())

ZONE_LABELS = {"Asia/Jakarta": "WIB", "Asia/Pontianak": "WIB", "Asia/Makassar": "WITA",
               "Asia/Jayapura": "WIT"}


def _int_param(request: Request, name: str, low: int, high: int) -> int:
    raw = request.query_params.get(name, "")
    return int(raw) if raw.isdigit() and low <= int(raw) <= high else 0


def _kiosk_page(request: Request, site_code: str | None, start: str = "") -> HTMLResponse:
    paper = request.query_params.get("paper")
    response = render(
        request, "kiosk.html", site_code=site_code or "", start_screen=start,
        paper=paper if paper in PAPERS else "",
        # Setup knobs in the kiosk's start URL (and short ones for tests).
        idle_seconds=_int_param(request, "idle", 5, 600),
        ticket_seconds=_int_param(request, "ticket_seconds", 2, 120),
        zone_labels=ZONE_LABELS,
        # The optional phone step only where messages go out (no number kept for nothing).
        phone_optin=state_of(request.app).settings.notify_provider != "none",
        # The opt-in phone's consent sentence (UU 27/2022), the one every phone field shows.
        consent_text=(contact_rules.CONSENT_TEXT_EN if page_lang(request) == "en"
                      else contact_rules.CONSENT_TEXT_ID),
    )
    # A kiosk page must never be served from a stale cache after an upgrade.
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/kiosk", response_class=HTMLResponse)
def kiosk(request: Request) -> HTMLResponse:
    return _kiosk_page(request, None)


@router.get("/kiosk/checkin", response_class=HTMLResponse)
def kiosk_checkin(request: Request) -> HTMLResponse:
    """Booking check-in: the kiosk itself, opened on its check-in screen (same layout, back
    and idle return to the kiosk's start, printed ticket)."""
    return _kiosk_page(request, request.query_params.get("site") or None, start="checkin")


@router.get("/kiosk/{site_code:kiosksite}", response_class=HTMLResponse)
def kiosk_for_site(request: Request, site_code: str) -> HTMLResponse:
    return _kiosk_page(request, site_code)


@router.get("/kiosk/api/device")
def kiosk_device(ctx: CtxDep) -> dict[str, Any]:
    """Who this kiosk is (from its bearer token): lets the page pick its site and fail early."""
    return devices.kiosk_identity(ctx)


@router.get("/kiosk/api/reopen/{service_id}")
def kiosk_reopen(service_id: Annotated[int, Path(ge=1, le=2**31 - 1)], ctx: CtxDep,
                 request: Request) -> dict[str, Any]:
    """When a service whose quota ran out today issues tickets again (tomorrow or later)."""
    service = tickets.get_service(ctx.session, service_id)
    site = service.agency.site
    lnow = local_now(site, ctx.now)
    tomorrow = datetime.combine(lnow.date() + timedelta(days=1), datetime.min.time(),
                                tzinfo=lnow.tzinfo)
    is_open, nxt = service_open_state(ctx.session, service, site, tomorrow,
                                      special_days(ctx.session, site.id, lnow.date()))
    if is_open:
        nxt = tomorrow
    hint_id, hint_en = opening_hint(nxt, lnow.date())
    hint = hint_en if page_lang(request) == "en" else hint_id
    return {"next_opening": nxt.isoformat() if nxt else None,
            "hint": hint.removeprefix("; ")}


# A QR image answers only for a real code: guessing codes through it counts like the tracking
# page's misses.
@router.get("/kiosk/qr/{tracking_code}.svg",
            dependencies=[Depends(ratelimit.limit_misses("track"), scope="function")])
def ticket_qr(request: Request, ctx: CtxDep,
              tracking_code: Annotated[str, Path(pattern=TRACKING_RE)]) -> Response:
    """The QR code printed on a ticket: the public tracking page of that ticket."""
    import segno

    tickets.find_by_tracking(ctx.session, tracking_code)  # only real tickets get a code
    # Phones scan this: behind a proxy or on a LAN, MPP_PUBLIC_URL says how they reach us.
    base = state_of(request.app).settings.public_url or str(request.base_url)
    url = base.rstrip("/") + f"/t/{tracking_code}"
    buf = io.BytesIO()
    # A standalone file (with the SVG namespace) so it loads as an <img> on screen and on paper.
    segno.make(url, error="m").save(buf, kind="svg", scale=4, border=2, dark="#000",
                                    light="#fff", xmldecl=False, omitsize=True)
    return Response(buf.getvalue(), media_type="image/svg+xml",
                    headers={"Cache-Control": "public, max-age=86400"})


@router.get("/t/{tracking_code}", response_class=HTMLResponse)
def tracking_page(request: Request, ctx: CtxDep,
                  tracking_code: Annotated[str, Path(max_length=64)]) -> HTMLResponse:
    """Public, mobile-first page for one ticket; no personal data, updated by short polling.
    Unknown codes count towards the address's guessing limit, shared with the API's lookup."""
    refused = refused_page(request, "track")
    if refused is not None:
        return refused
    state = None
    try:
        state = track_api(tracking_code, ctx)
    except DomainError as err:
        if err.code != "not_found":
            raise
    if state is None:
        record_miss(request, "track")
        return render(request, "track.html", status_code=404, state=None,
                      tracking_code="", poll_ms=0)
    poll = request.query_params.get("poll", "")
    poll_ms = int(poll) if poll.isdigit() and 500 <= int(poll) <= 60000 else 4000
    ticket = tickets.find_by_tracking(ctx.session, tracking_code)
    site = ticket.service.agency.site
    # When the citizen took the ticket (the first one, if transferred since), the page's way:
    # "2 Desember 2026 pukul 08.05" / "December 2, 2026 at 8:05 AM", never ISO.
    first = tickets.first_of_transfers(ctx.session, ticket) or ticket
    issued = local_now(site, first.issued_at)
    lang = page_lang(request)
    response = render(request, "track.html", state=state, tracking_code=tracking_code,
                      poll_ms=poll_ms, site_tz=site.timezone,
                      issued_date=format_date(issued.date(), format="long", locale=lang),
                      issued_time=format_time(issued, format="short", locale=lang))
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response

