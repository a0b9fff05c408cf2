"""Webhooks: subscriptions per site, fan-out of committed events into the outbox, and the
"webhook" channel that delivers them signed by the Standard Webhooks specification.

Where deliveries come from. Every ticket change is a committed ticket_event row, whichever
path made it (the kiosk's pipelined PostgreSQL path included), every survey a survey_response
row, every booking a booking row and every later change of a booking (cancelled) a
booking_event row. The fan-out (`fan_out`, every `webhook_fanout_seconds`
in each process) reads the rows past a cursor kept in app_setting and writes one outbox row
per subscribed endpoint, keyed `wh:{endpoint}:{source}:{row id}`, in one transaction with the
cursor. So a delivery exists exactly when its cause committed, never twice (the key is
unique), and in the order of the causes. On PostgreSQL a transaction can commit after one
with a higher id, so the fan-out looks LOOKBACK ids behind its cursor again and skips keys it
wrote already.

Delivery is the outbox relay's (app/services/outbox.py): at least once, the same key as
`webhook-id` on every attempt. The channel adds what is particular to webhooks: the SSRF guard,
short timeouts without redirects, the delivery log (webhook_attempt), the retry schedule of
app.domain.webhooks (up to a day apart), order per ticket (a delivery waits while an earlier one
for the same ticket and endpoint is still pending) and switching off an endpoint that failed
for a whole day, with a notice in admin.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import secrets
import socket
import time
from datetime import datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks.webhooks import Webhook

from app.config import Settings
from app.db.models import (
    Agency,
    AuditLog,
    Booking,
    BookingEvent,
    Counter,
    OutboxMessage,
    Service,
    Setting,
    Site,
    SurveyResponse,
    Ticket,
    TicketEvent,
    utcnow,
)
from app.db.models_integration import WebhookAttempt, WebhookEndpoint
from app.db.session import is_postgres, unit_of_work
from app.domain import webhooks as rules
from app.domain.errors import DomainError, NotFound
from app.services import channels, outbox
from app.services.channels import Outcome, Outgoing
from app.services.context import Ctx
from app.services.policy import require_role
from app.state import state_of

log = logging.getLogger(__name__)
KIND = "webhook"
CURSOR_KEY = "webhook.cursor"
BATCH = 500
LOOKBACK = 200
_o = OutboxMessage.__table__.c


# --- subscriptions --------------------------------------------------------------------------


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def resolve_target(url: str, *, allow_private: bool) -> list[str]:
    """The URL's addresses; DomainError target_refused when one is off limits (SSRF)."""
    _, host, port = rules.check_url(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise DomainError("target_refused", reason=f"{host}: tidak dapat di-resolve") from None
    addresses = sorted({str(info[4][0]) for info in infos})
    if not allow_private:
        refused = [a for a in addresses if rules.address_refused(a)]
        if refused:
            raise DomainError("target_refused", reason=f"{host} -> {refused[0]}")
    return addresses


def _endpoint(ctx: Ctx, endpoint_id: int) -> WebhookEndpoint:
    require_role(ctx.actor, "admin")
    ep = ctx.session.get(WebhookEndpoint, endpoint_id)
    if ep is None or ep.deleted:
        raise NotFound("Webhook", "Webhook")
    return ep


def create(ctx: Ctx, *, url: str, events: list[str], site_id: int, description: str | None,
           allow_private: bool) -> tuple[WebhookEndpoint, str]:
    """A new subscription and its secret (shown this once)."""
    from app.services.config import audit

    require_role(ctx.actor, "admin")
    if ctx.session.get(Site, site_id) is None:
        raise NotFound("Lokasi", "Site")
    resolve_target(url, allow_private=allow_private)
    secret = new_secret()
    ep = WebhookEndpoint(site_id=site_id, url=url, events=rules.check_events(events),
                         secret=secret, description=description, created_at=ctx.now,
                         created_by=ctx.actor.user_id if ctx.actor else None)
    ctx.session.add(ep)
    ctx.session.flush()
    audit(ctx, "create", "webhook_endpoint", ep.id, {"url": url, "events": ep.events,
                                                      "site_id": site_id})
    return ep, secret


def update(ctx: Ctx, endpoint_id: int, changes: dict[str, Any], *, allow_private: bool
           ) -> WebhookEndpoint:
    from app.services.config import audit

    ep = _endpoint(ctx, endpoint_id)
    applied: dict[str, Any] = {}
    if changes.get("url") is not None and changes["url"] != ep.url:
        resolve_target(changes["url"], allow_private=allow_private)
        ep.url = applied["url"] = changes["url"]
    if changes.get("events") is not None:
        ep.events = applied["events"] = rules.check_events(changes["events"])
    if "description" in changes:
        ep.description = applied["description"] = changes["description"]
    if changes.get("is_active") is not None and changes["is_active"] != ep.is_active:
        ep.is_active = applied["is_active"] = bool(changes["is_active"])
    if changes.get("is_active") and ep.disabled_at is not None:
        # Switched on again by hand: what waited goes out now, in order.
        ep.disabled_at = ep.disabled_reason = ep.failing_since = None
        applied["enabled_again"] = True
        ctx.session.execute(sa.update(OutboxMessage.__table__).where(
            _o.kind == KIND, _o.target == str(ep.id), _o.status == "pending")
            .values(next_attempt_at=ctx.now))
    ctx.session.flush()
    if applied:
        audit(ctx, "update", "webhook_endpoint", ep.id, applied)
    return ep


def delete(ctx: Ctx, endpoint_id: int) -> None:
    from app.services.config import audit

    ep = _endpoint(ctx, endpoint_id)
    ep.deleted = True
    ep.is_active = False
    ctx.session.flush()
    audit(ctx, "delete", "webhook_endpoint", ep.id)


def list_endpoints(ctx: Ctx, site_id: int | None = None) -> list[WebhookEndpoint]:
    require_role(ctx.actor, "admin")
    stmt = sa.select(WebhookEndpoint).where(WebhookEndpoint.deleted.is_(False))
    if site_id is not None:
        stmt = stmt.where(WebhookEndpoint.site_id == site_id)
    return list(ctx.session.scalars(stmt.order_by(WebhookEndpoint.id)))


def get(ctx: Ctx, endpoint_id: int) -> WebhookEndpoint:
    return _endpoint(ctx, endpoint_id)


def endpoint_out(ep: WebhookEndpoint) -> dict[str, Any]:
    iso = (lambda v: v.isoformat() if v else None)  # noqa: E731
    return {"id": ep.id, "url": ep.url, "events": ep.events, "site_id": ep.site_id,
            "description": ep.description, "is_active": ep.is_active,
            "created_at": iso(ep.created_at), "failing_since": iso(ep.failing_since),
            "disabled_at": iso(ep.disabled_at), "disabled_reason": ep.disabled_reason,
            "last_success_at": iso(ep.last_success_at),
            "last_failure_at": iso(ep.last_failure_at)}


def deliveries(ctx: Ctx, endpoint_id: int, *, limit: int = 50) -> list[dict[str, Any]]:
    """The delivery log: the endpoint's outbox rows, newest first, with every attempt."""
    ep = _endpoint(ctx, endpoint_id)
    rows = ctx.session.execute(
        sa.select(_o.id, _o.key, _o.topic, _o.status, _o.created_at, _o.sent_at,
                  _o.next_attempt_at, _o.last_error, _o.ticket_id)
        .where(_o.kind == KIND, _o.target == str(ep.id)).order_by(_o.id.desc()).limit(limit)
    ).all()
    attempts: dict[int, list[dict[str, Any]]] = {r.id: [] for r in rows}
    if rows:
        a = WebhookAttempt.__table__.c
        for row in ctx.session.execute(
                sa.select(a.outbox_id, a.at, a.status_code, a.response_ms, a.ok, a.error)
                .where(a.outbox_id.in_(list(attempts))).order_by(a.id)):
            attempts[row.outbox_id].append({
                "at": row.at.isoformat() if isinstance(row.at, datetime) else str(row.at),
                "status_code": row.status_code, "response_ms": row.response_ms, "ok": row.ok,
                "error": row.error})
    out = []
    for r in rows:
        tries = attempts[r.id]
        last = tries[-1] if tries else None
        out.append({"id": r.id, "webhook_id": r.key, "event": r.topic,
                    "status": "delivered" if r.status == "sent" else r.status,
                    "attempts": len(tries), "created_at": _iso(r.created_at),
                    "delivered_at": _iso(r.sent_at),
                    "next_attempt_at": _iso(r.next_attempt_at)
                    if r.status in ("pending", "sending") else None,
                    "last_status_code": last["status_code"] if last else None,
                    "last_response_ms": last["response_ms"] if last else None,
                    "last_error": r.last_error, "log": tries})
    return out


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, datetime) else str(value)


def redeliver(ctx: Ctx, endpoint_id: int, delivery_id: int) -> None:
    """Send one delivery again now, under the same webhook-id (the receiver may drop it)."""
    from app.services.config import audit

    ep = _endpoint(ctx, endpoint_id)
    done = ctx.session.execute(
        sa.update(OutboxMessage.__table__)
        .where(_o.id == delivery_id, _o.kind == KIND, _o.target == str(ep.id))
        .values(status="pending", next_attempt_at=ctx.now, lease_until=None, lease_token=None,
                last_error=None))
    if not done.rowcount:  # type: ignore[attr-defined]
        raise NotFound("Pengiriman", "Delivery")
    audit(ctx, "redeliver", "webhook_endpoint", ep.id, {"delivery_id": delivery_id})


def notices(session: Session) -> list[dict[str, Any]]:
    """Endpoints switched off after a day of failures (shown on the admin page)."""
    return [endpoint_out(ep) for ep in session.scalars(
        sa.select(WebhookEndpoint).where(WebhookEndpoint.deleted.is_(False),
                                         WebhookEndpoint.disabled_at.is_not(None)))]


# --- fan-out --------------------------------------------------------------------------------

_TE = TicketEvent.__table__.c
_T = Ticket.__table__.c
_SR = SurveyResponse.__table__.c
_BK = Booking.__table__.c
_BE = BookingEvent.__table__.c
CURSOR_KEYS = ("te", "sr", "bk", "be")


def _cursor(session: Session) -> dict[str, int]:
    row = session.get(Setting, CURSOR_KEY)
    value = row.value if row is not None and isinstance(row.value, dict) else {}
    return {k: int(value.get(k, 0)) for k in CURSOR_KEYS}


def _save_cursor(session: Session, cursor: dict[str, int]) -> None:
    row = session.get(Setting, CURSOR_KEY)
    if row is None:
        session.add(Setting(key=CURSOR_KEY, value=dict(cursor)))
    else:
        old = row.value if isinstance(row.value, dict) else {}
        # Another process may have gone further: the cursor never moves back.
        row.value = {k: max(int(old.get(k, 0)), v) for k, v in cursor.items()}
    session.flush()


def _labels(session: Session, service_ids: set[int], counter_ids: set[int]
            ) -> tuple[dict[int, tuple[str, str, str]], dict[int, int]]:
    services = {sid: (site, agency, code) for sid, site, agency, code in session.execute(
        sa.select(Service.id, Site.code, Agency.code, Service.code)
        .join(Agency, Agency.id == Service.agency_id).join(Site, Site.id == Service.site_id)
        .where(Service.id.in_(sorted(service_ids) or [0])))}
    counters = {cid: num for cid, num in session.execute(
        sa.select(Counter.id, Counter.number).where(Counter.id.in_(sorted(counter_ids) or [0])))}
    return services, counters


def _ticket_events(session: Session, after: int, site_ids: list[int]) -> list[Any]:
    return session.execute(
        sa.select(_TE.id, _TE.ticket_id, _TE.site_id, _TE.service_id, _TE.counter_id, _TE.type,
                  _TE.from_status, _TE.to_status, _TE.at, _TE.day, _TE.priority, _T.number,
                  _T.issued_at, _T.channel, _T.booking_id)
        .join(Ticket.__table__, _T.id == _TE.ticket_id)
        .where(_TE.id > after, _TE.site_id.in_(site_ids)).order_by(_TE.id).limit(BATCH)).all()


def _surveys(session: Session, after: int, site_ids: list[int]) -> list[Any]:
    return session.execute(
        sa.select(_SR.id, _SR.ticket_id, _SR.site_id, _SR.service_id, _SR.counter_id,
                  _SR.submitted_at, _SR.day, _T.number)
        .join(Ticket.__table__, _T.id == _SR.ticket_id)
        .where(_SR.id > after, _SR.site_id.in_(site_ids)).order_by(_SR.id).limit(BATCH)).all()


def _bookings(session: Session, after: int, site_ids: list[int]) -> list[Any]:
    return session.execute(
        sa.select(_BK.id, _BK.site_id, _BK.service_id, _BK.day, _BK.slot_start, _BK.status,
                  _BK.created_at)
        .where(_BK.id > after, _BK.site_id.in_(site_ids)).order_by(_BK.id).limit(BATCH)).all()


def _booking_events(session: Session, after: int, site_ids: list[int]) -> list[Any]:
    return session.execute(
        sa.select(_BE.id, _BE.booking_id, _BE.site_id, _BE.service_id, _BE.type, _BE.at,
                  _BK.day, _BK.slot_start)
        .join(Booking.__table__, _BK.id == _BE.booking_id)
        .where(_BE.id > after, _BE.site_id.in_(site_ids)).order_by(_BE.id).limit(BATCH)).all()


def fan_out(factory: sessionmaker[Session], now: datetime | None = None) -> int:
    """Turn committed events past the cursor into outbox rows; returns how many were written."""
    now = now or utcnow()
    with unit_of_work(factory, write=False) as session:
        endpoints = list(session.scalars(sa.select(WebhookEndpoint).where(
            WebhookEndpoint.is_active.is_(True), WebhookEndpoint.deleted.is_(False))))
        if not endpoints:
            return 0
        cursor = _cursor(session)
        top_te = session.scalar(sa.select(sa.func.max(_TE.id))) or 0
        top_sr = session.scalar(sa.select(sa.func.max(_SR.id))) or 0
        top_bk = session.scalar(sa.select(sa.func.max(_BK.id))) or 0
        top_be = session.scalar(sa.select(sa.func.max(_BE.id))) or 0
        if (top_te <= cursor["te"] and top_sr <= cursor["sr"] and top_bk <= cursor["bk"]
                and top_be <= cursor["be"] and not is_postgres(session)):
            return 0
    written = 0
    with unit_of_work(factory) as session:
        lookback = LOOKBACK if is_postgres(session) else 0
        cursor = _cursor(session)
        by_site: dict[int, list[WebhookEndpoint]] = {}
        for ep in endpoints:
            by_site.setdefault(ep.site_id, []).append(ep)
        sites = sorted(by_site)
        te_rows = _ticket_events(session, max(0, cursor["te"] - lookback), sites)
        sr_rows = _surveys(session, max(0, cursor["sr"] - lookback), sites)
        bk_rows = _bookings(session, max(0, cursor["bk"] - lookback), sites)
        be_rows = _booking_events(session, max(0, cursor["be"] - lookback), sites)
        services, counters = _labels(
            session, {r.service_id for r in te_rows} | {r.service_id for r in sr_rows}
            | {r.service_id for r in bk_rows} | {r.service_id for r in be_rows},
            {r.counter_id for r in te_rows if r.counter_id} |
            {r.counter_id for r in sr_rows if r.counter_id})
        candidates: list[dict[str, Any]] = []
        for r in te_rows:
            event = rules.TICKET_EVENT_TYPES.get(r.type)
            if event is None:
                continue
            site, agency, code = services.get(r.service_id, ("", "", ""))
            data = {"event_id": r.id, "ticket_id": r.ticket_id, "number": r.number,
                    "status": r.to_status, "from_status": r.from_status, "site_code": site,
                    "agency_code": agency, "service_code": code,
                    "counter": counters.get(r.counter_id) if r.counter_id else None,
                    "priority": bool(r.priority), "day": r.day.isoformat(),
                    "at": _iso(r.at), "issued_at": _iso(r.issued_at),
                    "recall": r.type == "recalled", "channel": r.channel}
            candidates.append({"source": f"te:{r.id}", "event": event, "site_id": r.site_id,
                               "ticket_id": r.ticket_id, "at": r.at, "data": data})
            if r.type == "issued" and r.booking_id is not None:
                # A booking checked in at the kiosk: its ticket is issued.
                candidates.append({"source": f"bi:{r.id}", "event": "booking.checked_in",
                                   "site_id": r.site_id, "ticket_id": r.ticket_id, "at": r.at,
                                   "data": {**data, "booking_id": r.booking_id}})
        for r in sr_rows:
            site, agency, code = services.get(r.service_id, ("", "", ""))
            data = {"ticket_id": r.ticket_id, "number": r.number, "site_code": site,
                    "agency_code": agency, "service_code": code,
                    "counter": counters.get(r.counter_id) if r.counter_id else None,
                    "day": r.day.isoformat(), "at": _iso(r.submitted_at)}
            candidates.append({"source": f"sr:{r.id}", "event": "survey.submitted",
                               "site_id": r.site_id, "ticket_id": r.ticket_id,
                               "at": r.submitted_at, "data": data})
        for r in bk_rows:
            site, agency, code = services.get(r.service_id, ("", "", ""))
            candidates.append({"source": f"bk:{r.id}", "event": "booking.created",
                               "site_id": r.site_id, "ticket_id": None, "at": r.created_at,
                               "data": {"booking_id": r.id, "site_code": site,
                                        "agency_code": agency, "service_code": code,
                                        "day": r.day.isoformat(),
                                        "slot_start": _iso(r.slot_start),
                                        "at": _iso(r.created_at)}})
        # After the bookings: a booking made and cancelled in one batch goes out in that order.
        for r in be_rows:
            event = rules.BOOKING_EVENT_TYPES.get(r.type)
            if event is None:
                continue
            site, agency, code = services.get(r.service_id, ("", "", ""))
            candidates.append({"source": f"be:{r.id}", "event": event, "site_id": r.site_id,
                               "ticket_id": None, "at": r.at,
                               "data": {"booking_id": r.booking_id, "status": r.type,
                                        "site_code": site, "agency_code": agency,
                                        "service_code": code, "day": r.day.isoformat(),
                                        "slot_start": _iso(r.slot_start), "at": _iso(r.at)}})
        rows = []
        for c in candidates:
            for ep in by_site.get(c["site_id"], []):
                if rules.subscribed(ep.events, c["event"]) and c["at"] >= ep.created_at:
                    rows.append((f"wh:{ep.id}:{c['source']}", ep, c))
        existing: set[str] = set()
        keys = [k for k, _, _ in rows]
        for i in range(0, len(keys), 500):
            existing |= set(session.scalars(sa.select(_o.key).where(_o.key.in_(keys[i:i + 500]))))
        for key, ep, c in rows:
            if key in existing:
                continue
            body = {"type": c["event"], "timestamp": _iso(c["at"]),
                    "data": rules.clean_data(c["data"])}
            if outbox.enqueue(session, kind=KIND, topic=c["event"], key=key, payload=body,
                              now=now, site_id=c["site_id"], target=str(ep.id),
                              ticket_id=c["ticket_id"]):
                written += 1
        _save_cursor(session, {"te": te_rows[-1].id if te_rows else cursor["te"],
                               "sr": sr_rows[-1].id if sr_rows else cursor["sr"],
                               "bk": bk_rows[-1].id if bk_rows else cursor["bk"],
                               "be": be_rows[-1].id if be_rows else cursor["be"]})
    return written


def enqueue_day_closed(ctx: Ctx, site: Site, day: Any, *, tickets_closed: int,
                       counters_closed: int) -> int:
    """day.closed has no row of its own to fan out from: its outbox rows are written here, in
    the close-out's transaction (the same key if a second run closes the same day)."""
    endpoints = ctx.session.scalars(sa.select(WebhookEndpoint).where(
        WebhookEndpoint.site_id == site.id, WebhookEndpoint.is_active.is_(True),
        WebhookEndpoint.deleted.is_(False)))
    written = 0
    for ep in endpoints:
        if not rules.subscribed(ep.events, "day.closed"):
            continue
        data = {"site_code": site.code, "day": day.isoformat(), "at": ctx.now.isoformat(),
                "tickets_closed": tickets_closed, "counters_closed": counters_closed}
        body = {"type": "day.closed", "timestamp": ctx.now.isoformat(),
                "data": rules.clean_data(data)}
        written += outbox.enqueue(ctx.session, kind=KIND, topic="day.closed",
                                  key=f"wh:{ep.id}:dc:{site.id}:{day.isoformat()}",
                                  payload=body, now=ctx.now, site_id=site.id,
                                  target=str(ep.id))
    return written


async def fan_out_loop(app: Any) -> None:
    settings = state_of(app).settings
    while True:
        try:
            state = state_of(app)
            n = await asyncio.to_thread(fan_out, state.session_factory, state.clock())
        except Exception:  # noqa: BLE001 - the database restarting: try again next round
            log.warning("webhook fan-out: round failed", exc_info=True)
            n = 0
        if n < BATCH:
            await asyncio.sleep(settings.webhook_fanout_seconds)


async def starter(app: Any) -> asyncio.Task[None]:
    return asyncio.create_task(fan_out_loop(app), name="webhook-fan-out")


# --- delivery -------------------------------------------------------------------------------


class WebhookChannel:
    """Sends one outbox row to its endpoint; see the module docstring."""

    def __init__(self, settings: Settings, factory: sessionmaker[Session],
                 clock: Any = utcnow) -> None:
        self.settings = settings
        self.factory = factory
        self.clock = clock
        self.client = httpx.Client(timeout=settings.webhook_timeout_seconds,
                                   follow_redirects=False, trust_env=False)

    def send(self, item: Outgoing) -> Outcome:
        now = self.clock()
        with unit_of_work(self.factory, write=False) as session:
            ep = session.get(WebhookEndpoint, int(item.target or 0))
            if ep is None or ep.deleted:
                return Outcome("failed", error="endpoint deleted")
            if not ep.is_active or ep.disabled_at is not None:
                # Kept, not dropped: switching the endpoint on again sends it.
                return Outcome("retry", error="endpoint switched off", delay_seconds=3600)
            url, secret = ep.url, ep.secret
            wait = self._earlier_pending(session, item, now)
            if wait is not None:
                return Outcome("retry", error="waits for an earlier event of this ticket",
                               delay_seconds=wait)
            tries = int(session.scalar(sa.select(sa.func.count()).where(
                WebhookAttempt.outbox_id == item.id)) or 0) + 1
        status, ms, error = self._post(url, secret, item, now)
        ok = status is not None and 200 <= status < 300
        self._log(item, ok, status, ms, error, now)
        if ok:
            return Outcome("sent", provider_ref=str(status))
        if tries >= rules.MAX_ATTEMPTS:
            return Outcome("failed", error=error)
        return Outcome("retry", error=error, delay_seconds=rules.retry_delay(tries))

    def _earlier_pending(self, session: Session, item: Outgoing, now: datetime
                         ) -> float | None:
        """Seconds to wait when an earlier delivery for the same ticket is still to go."""
        ticket_id = session.scalar(sa.select(_o.ticket_id).where(_o.id == item.id))
        if ticket_id is None:
            return None
        earlier = session.execute(
            sa.select(_o.id, _o.status, _o.next_attempt_at)
            .where(_o.ticket_id == ticket_id, _o.kind == KIND, _o.target == item.target,
                   _o.id < item.id, _o.status.in_(("pending", "sending")))
            .order_by(_o.id).limit(1)).first()
        if earlier is None:
            return None
        if earlier.status == "sending" or earlier.next_attempt_at is None:
            return 2.0
        return max(1.0, (earlier.next_attempt_at - now).total_seconds() + 1)

    def _post(self, url: str, secret: str, item: Outgoing, now: datetime
              ) -> tuple[int | None, int | None, str | None]:
        try:
            addresses = resolve_target(url, allow_private=self.settings.
                                       webhook_allow_private_targets)
        except DomainError as exc:
            return None, None, exc.message("en")[:300]
        body = json.dumps(item.payload, ensure_ascii=False, separators=(",", ":"))
        signature = Webhook(secret).sign(item.key, now, body)
        headers = {"webhook-id": item.key, "webhook-timestamp": str(int(now.timestamp())),
                   "webhook-signature": signature, "content-type": "application/json",
                   "user-agent": "mpp-antrean-webhooks/1"}
        target = httpx.URL(url)
        if target.scheme == "http":
            # Connect to the address just checked, not to a second DNS answer (rebinding).
            headers["host"] = target.netloc.decode()
            target = target.copy_with(host=addresses[0])
        started = time.monotonic()
        try:
            response = self.client.post(target, content=body.encode(), headers=headers)
        except httpx.TimeoutException:
            return None, int((time.monotonic() - started) * 1000), "timeout"
        except httpx.HTTPError as exc:
            return None, int((time.monotonic() - started) * 1000), \
                f"{type(exc).__name__}: {exc}"[:300]
        ms = int((time.monotonic() - started) * 1000)
        if 300 <= response.status_code < 400:
            return response.status_code, ms, "redirect not followed"
        error = None if response.is_success else f"HTTP {response.status_code}"
        return response.status_code, ms, error

    def _log(self, item: Outgoing, ok: bool, status: int | None, ms: int | None,
             error: str | None, now: datetime) -> None:
        with unit_of_work(self.factory) as session:
            ep = session.get(WebhookEndpoint, int(item.target or 0))
            if ep is None:
                return
            session.add(WebhookAttempt(outbox_id=item.id, endpoint_id=ep.id, at=now,
                                       status_code=status, response_ms=ms, ok=ok,
                                       error=error))
            if ok:
                ep.last_success_at, ep.failing_since = now, None
                return
            ep.last_failure_at = now
            ep.failing_since = ep.failing_since or now
            if (ep.disabled_at is None and now - ep.failing_since
                    >= timedelta(seconds=rules.DISABLE_AFTER_SECONDS)):
                ep.disabled_at = now
                ep.disabled_reason = (f"Gagal terus sejak {ep.failing_since.isoformat()}: "
                                      f"{error}")[:300]
                session.add(AuditLog(at=now, action="disable", entity="webhook_endpoint",
                                     entity_id=ep.id, changes={"reason": ep.disabled_reason}))
                log.warning("webhook endpoint %s switched off after a day of failures", ep.id)


def _factory(settings: Settings, factory: sessionmaker[Session]) -> WebhookChannel:
    return WebhookChannel(settings, factory)


channels.register(KIND, _factory)

