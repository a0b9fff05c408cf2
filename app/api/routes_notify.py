"""Providers' delivery reports (WhatsApp Cloud API webhooks, SMS gateway callbacks), and the
outbox relay's start-up."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request, Response
from pydantic import Field, StringConstraints

from app.api.deps import AnonCtxDep, CtxDep, resolve_principal
from app.api.ratelimit import bump
from app.api.schemas import Id, OtpRequest, Strict
from app.db.session import unit_of_work
from app.domain.errors import DomainError
from app.services import auth, notify, notify_providers, otp, outbox  # noqa: F401 - channel
from app.state import state_of

router = APIRouter(prefix="/api/v1/notify", tags=["notify"])
sites = APIRouter(prefix="/api/v1", tags=["notify"])
OTP_PER_ADDRESS_HOUR = 10
OTP_PER_KIOSK_HOUR = 200


@router.get("/whatsapp/status")
def whatsapp_verify(
    request: Request,
    mode: Annotated[str | None, Query(alias="hub.mode", max_length=32)] = None,
    token: Annotated[str | None, Query(alias="hub.verify_token", max_length=256)] = None,
    challenge: Annotated[str | None, Query(alias="hub.challenge", max_length=256)] = None,
) -> Response:
    """Meta's subscription check: echo the challenge when the verify token matches."""
    expected = state_of(request.app).settings.whatsapp_verify_token
    if (mode == "subscribe" and expected and token and challenge
            and hmac.compare_digest(token, expected)):
        return Response(challenge, media_type="text/plain")
    raise DomainError("forbidden")


@router.post("/whatsapp/status")
async def whatsapp_status(request: Request, ctx: AnonCtxDep) -> dict[str, int]:
    """Statuses of sent messages (sent, delivered, read, failed), signed by the app secret."""
    raw = await request.body()
    secret = state_of(request.app).settings.whatsapp_app_secret
    if secret:
        sent = request.headers.get("x-hub-signature-256", "")
        mac = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(sent, mac):
            raise DomainError("forbidden")
    try:
        doc = json.loads(raw)
    except ValueError:
        raise DomainError("validation_error") from None
    updated = 0
    for status in _statuses(doc):
        errors = status.get("errors") or [{}]
        error = errors[0].get("title") if isinstance(errors[0], dict) else None
        if outbox.record_status(ctx.session, status=str(status.get("status")), now=ctx.now,
                                provider_ref=_str(status.get("id")),
                                key=_str(status.get("biz_opaque_callback_data")), error=error):
            updated += 1
    return {"updated": updated}


def _statuses(doc: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if not isinstance(doc, dict):
        return found
    for entry in doc.get("entry") or []:
        for change in (entry.get("changes") or []) if isinstance(entry, dict) else []:
            value = change.get("value") if isinstance(change, dict) else None
            if isinstance(value, dict):
                found += [s for s in value.get("statuses") or [] if isinstance(s, dict)]
    return found


def _str(value: Any) -> str | None:
    return str(value)[:200] if value not in (None, "") else None


_SMS_STATUSES = {"sent": "sent", "delivered": "delivered", "delivrd": "delivered",
                 "read": "read", "failed": "failed", "undeliv": "failed", "rejected": "failed",
                 "expired": "failed"}


# Gateways report by GET (in the query) or POST (in a form): two routes on one path, each its
# own operation (one function for both gave OpenAPI a duplicate operation id).
@router.get("/sms/status", operation_id="sms_status_get")
async def sms_status_get(
    request: Request, ctx: AnonCtxDep,
    token: Annotated[str, Query(max_length=256)] = "",
) -> dict[str, int]:
    """A gateway's delivery report in the query: `id` (its message id, or our key) and
    `status`; it must carry the shared token (MPP_SMS_CALLBACK_TOKEN)."""
    return await _sms_status(request, ctx, token)


@router.post("/sms/status", operation_id="sms_status_post")
async def sms_status_post(
    request: Request, ctx: AnonCtxDep,
    token: Annotated[str, Query(max_length=256)] = "",
) -> dict[str, int]:
    """A gateway's delivery report in a form (or the query): `id` and `status`, with the
    shared token (MPP_SMS_CALLBACK_TOKEN) in the query."""
    return await _sms_status(request, ctx, token)


async def _sms_status(request: Request, ctx: Any, token: str) -> dict[str, int]:
    expected = state_of(request.app).settings.sms_callback_token
    if not expected or not hmac.compare_digest(token, expected):
        raise DomainError("forbidden")
    values: dict[str, Any] = dict(request.query_params)
    if request.method == "POST":
        values.update(dict(await request.form()))
    status = _SMS_STATUSES.get(str(values.get("status", "")).lower()[:16])
    ref = _str(values.get("id"))
    ok = status is not None and outbox.record_status(
        ctx.session, status=status, now=ctx.now, provider_ref=ref, key=ref)
    return {"updated": int(ok)}


@sites.post("/otp", status_code=201)
def request_otp(request: Request, body: OtpRequest, ctx: AnonCtxDep) -> dict[str, Any]:
    """Send a one-time code to a phone (services that need a confirmed number); the answer's
    otp_id and the code received go in `contact` of the ticket or booking."""
    with unit_of_work(state_of(request.app).session_factory) as session:
        # Who asks, in this transaction (the request's own one must not hold SQLite's write
        # lock while this one counts).
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        device = scheme.lower() == "bearer" and token.startswith(auth.DEVICE_PREFIX)
        who = resolve_principal(request, session) if device else None  # cookies stay out
        if who is not None and who.role == "kiosk":
            # A kiosk serves a whole hall from one address: its own, larger budget.
            bucket, limit = f"otp:kiosk:{who.id}", OTP_PER_KIOSK_HOUR
        else:
            ip = request.client.host if request.client else "-"
            bucket, limit = f"otp:{ip}", OTP_PER_ADDRESS_HOUR
        bump(session, bucket, limit=limit, seconds=3600, now=ctx.now)
    row = otp.request_code(ctx, secret=state_of(request.app).settings.secret_key,
                           phone=body.phone, consent=body.consent, lang=body.lang)
    return {"otp_id": row.id, "expires_at": row.expires_at.isoformat()}


class SwitchesIn(Strict):
    enabled: dict[Annotated[str, StringConstraints(max_length=40)], bool] = {}
    ahead: dict[Annotated[str, StringConstraints(max_length=12)],
                Annotated[int, Field(ge=1, le=notify.MAX_AHEAD)]] = {}


@sites.get("/sites/{site_id}/notifications")
def get_switches(ctx: CtxDep, site_id: Id) -> dict[str, Any]:
    """Which message types go out at this site, and "N people ahead" per service."""
    return _switches_out(notify.read_switches(ctx, site_id))


@sites.put("/sites/{site_id}/notifications")
def put_switches(ctx: CtxDep, site_id: Id, body: SwitchesIn) -> dict[str, Any]:
    return _switches_out(notify.set_switches(ctx, site_id, enabled=body.enabled,
                                             ahead=body.ahead))


def _switches_out(value: dict[str, Any]) -> dict[str, Any]:
    return {"enabled": {t: t not in value["off"] for t in notify.SWITCHES},
            "ahead": value["ahead"], "default_ahead": notify.DEFAULT_AHEAD}


def setup(app: FastAPI) -> None:
    app.include_router(sites)
