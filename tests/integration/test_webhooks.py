"""Webhooks end to end: real ticket actions, the fan-out into the outbox, the outbox relay with
the webhook channel, and a loopback HTTP receiver that verifies every signature."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import sqlalchemy as sa
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from app.db.models import AuditLog, OutboxMessage
from app.db.models_integration import WebhookEndpoint
from app.domain import webhooks as rules
from app.services import outbox, webhooks
from app.services.outbox import RelayPolicy
from app.services.webhooks import WebhookChannel, fan_out
from tests.api.test_stats_api import login
from tests.conftest import auth
from tests.support.world import PASSWORD


class Receiver:
    """A loopback receiver: records every request, verifies its signature, fails on demand."""

    def __init__(self) -> None:
        self.secret: str | None = None
        self.failing = False
        self.slow_once = False
        self.redirect_to: str | None = None
        self.requests: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    Webhook(outer.secret or "").verify(body, headers)
                    verified = True
                except WebhookVerificationError:
                    verified = False
                status = 500 if outer.failing else 204
                if outer.redirect_to:
                    status = 302
                outer.requests.append({"id": headers.get("webhook-id"), "verified": verified,
                                       "body": json.loads(body), "status": status,
                                       "headers": headers})
                if outer.slow_once:
                    # Longer than the sender's timeout: an attempt that ends in "timeout".
                    outer.slow_once = False
                    time.sleep(1.5)
                try:
                    self.send_response(status)
                    if status == 302:
                        self.send_header("Location", outer.redirect_to or "/")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:  # the sender gave up (the timeout case)
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def delivered(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["status"] == 204]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def hook_app(app):
    app.state.settings.webhook_allow_private_targets = True
    app.state.settings.webhook_timeout_seconds = 1.0
    return app


def relay(app, clock) -> tuple[Any, dict[str, Any], RelayPolicy]:
    factory = app.state.session_factory
    channel = WebhookChannel(app.state.settings, factory, clock=clock)
    return factory, {"webhook": channel}, RelayPolicy(batch=20, timeout_seconds=1.0)


async def _subscribe(api, world, receiver, events=("*",)) -> dict[str, Any]:
    admin = await login(api, world.admin.username)
    r = await api.post("/api/v1/webhooks", headers=admin, json={
        "url": receiver.url, "events": list(events), "site_id": world.site.id})
    assert r.status_code == 201, r.text
    hook = r.json()
    assert hook["secret"].startswith("whsec_")
    receiver.secret = hook["secret"]
    listed = (await api.get(f"/api/v1/webhooks/{hook['id']}", headers=admin)).json()
    assert "secret" not in listed  # shown once
    return hook


async def _activity(api, world) -> list[dict[str, Any]]:
    """Two tickets: the first issued, called, started and finished; the second issued, called."""
    kiosk = auth(world.kiosk_token)
    officer = await login(api, world.officer_d.username)
    t1 = (await api.post("/api/v1/tickets", json={"service_id": world.ktp.id},
                         headers=kiosk)).json()
    t2 = (await api.post("/api/v1/tickets", json={"service_id": world.ktp.id},
                         headers=kiosk)).json()
    await api.post(f"/api/v1/counters/{world.c1.id}/open", headers=officer)
    assert (await api.post(f"/api/v1/counters/{world.c1.id}/call-next",
                           headers=officer)).json()["id"] == t1["id"]
    for action in ("start", "finish"):
        r = await api.post(f"/api/v1/tickets/{t1['id']}/{action}", headers=officer)
        assert r.status_code == 200, r.text
    assert (await api.post(f"/api/v1/counters/{world.c1.id}/call-next",
                           headers=officer)).json()["id"] == t2["id"]
    return [t1, t2]


async def test_receiver_that_fails_for_a_while_gets_everything_in_order(
        api, hook_app, world, clock, receiver):
    hook = await _subscribe(api, world, receiver)
    tickets = await _activity(api, world)
    factory, channels, policy = relay(hook_app, clock)
    assert fan_out(factory, clock()) == 6
    assert fan_out(factory, clock()) == 0  # the cursor moved; the keys are unique anyway

    receiver.failing, receiver.slow_once = True, True
    start = clock()
    while clock() - start < timedelta(seconds=40):
        outbox.relay_once(factory, channels, policy, clock)
        clock.set(clock() + timedelta(seconds=5))
    assert receiver.requests and not receiver.delivered()
    assert any(r["status"] == 500 for r in receiver.requests)
    receiver.failing = False
    while clock() - start < timedelta(seconds=280) and len(receiver.delivered()) < 6:
        outbox.relay_once(factory, channels, policy, clock)
        clock.set(clock() + timedelta(seconds=5))

    # Every request carried a valid Standard Webhooks signature.
    assert all(r["verified"] for r in receiver.requests), receiver.requests
    got = receiver.delivered()
    ids = [r["id"] for r in got]
    assert len(ids) == len(set(ids)) == 6  # none lost, none delivered twice
    for t, expected in zip(tickets, (["ticket.issued", "ticket.called", "ticket.started",
                                      "ticket.finished"], ["ticket.issued", "ticket.called"]),
                           strict=True):
        seen = [r["body"]["type"] for r in got if r["body"]["data"]["ticket_id"] == t["id"]]
        assert seen == expected  # in order per ticket
    # The same webhook-id on every attempt of one event.
    first = got[0]["id"]
    attempts = [r for r in receiver.requests if r["id"] == first]
    assert len(attempts) >= 3 and {r["body"]["data"]["event_id"] for r in attempts} == {
        got[0]["body"]["data"]["event_id"]}
    # Payloads: codes, number, counter and times; nothing personal, no tracking code.
    body = next(r["body"] for r in got if r["body"]["type"] == "ticket.called")
    assert body["data"]["counter"] == 1 and body["data"]["status"] == "called"
    assert body["data"]["number"] == tickets[0]["number"]
    assert body["data"]["service_code"] == "KTP" and body["data"]["agency_code"] == "DUK-mpp-uji"
    for r in got:
        assert set(r["body"]["data"]) <= rules.PAYLOAD_KEYS
        assert tickets[0]["tracking_code"] not in json.dumps(r["body"])

    admin = await login(api, world.admin.username)
    log = (await api.get(f"/api/v1/webhooks/{hook['id']}/deliveries", headers=admin)).json()
    assert [d["status"] for d in log] == ["delivered"] * 6
    oldest = log[-1]
    assert oldest["webhook_id"] == first and oldest["attempts"] == len(attempts)
    assert oldest["last_status_code"] == 204 and oldest["last_response_ms"] is not None
    assert [a["ok"] for a in oldest["log"]][-1] is True
    assert any(a["error"] == "timeout" for d in log for a in d["log"])

    # Redeliver by hand: the same webhook-id once more.
    r = await api.post(f"/api/v1/webhooks/{hook['id']}/deliveries/{oldest['id']}/redeliver",
                       headers=admin)
    assert r.status_code == 202
    outbox.relay_once(factory, channels, policy, clock)
    assert receiver.delivered()[-1]["id"] == first and receiver.requests[-1]["verified"]
    r = await api.post(f"/api/v1/webhooks/{hook['id']}/deliveries/999999/redeliver",
                       headers=admin)
    assert r.status_code == 404


async def test_endpoint_switched_off_after_a_day_and_on_again(
        api, hook_app, world, clock, receiver, session):
    hook = await _subscribe(api, world, receiver, events=["ticket.issued"])
    receiver.failing = True
    await api.post("/api/v1/tickets", json={"service_id": world.ktp.id},
                   headers=auth(world.kiosk_token))
    factory, channels, policy = relay(hook_app, clock)
    assert fan_out(factory, clock()) == 1
    start = clock()
    delays = []
    for _ in range(14):
        outbox.relay_once(factory, channels, policy, clock)
        row = session.scalars(sa.select(OutboxMessage).where(
            OutboxMessage.kind == "webhook")).one()
        session.refresh(row)
        delays.append((row.next_attempt_at - clock()).total_seconds())
        clock.set(max(clock(), row.next_attempt_at) + timedelta(seconds=1))
        ep = session.get(WebhookEndpoint, hook["id"])
        session.refresh(ep)
        if ep.disabled_at is not None:
            break
    assert ep.disabled_at is not None and ep.disabled_at - start >= timedelta(hours=24)
    # Growing delays, the first retry within a minute, none over a day.
    real = [d for d in delays if d < 3000 or d >= 3600]
    assert real[0] <= 60 and max(real) <= 86400 and real == sorted(real)
    notices = webhooks.notices(session)
    assert [n["id"] for n in notices] == [hook["id"]]
    assert session.scalar(sa.select(AuditLog.id).where(AuditLog.entity == "webhook_endpoint",
                                                       AuditLog.action == "disable"))
    row = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "webhook")).one()
    assert row.status == "pending"  # kept, not dropped
    from app.web.session import LOGIN_CSRF_COOKIE

    await api.get("/login")
    signed_in = await api.post("/login", data={
        "username": world.admin.username, "password": PASSWORD,
        "csrf_token": api.cookies.get(LOGIN_CSRF_COOKIE)})
    assert signed_in.status_code in (200, 303), signed_in.text
    page = await api.get("/admin/integrasi")
    assert page.status_code == 200 and f'data-notice="{hook["id"]}"' in page.text
    page = await api.get("/admin")
    assert 'id="webhooks-off"' in page.text and receiver.url in page.text

    # Switched on again by hand: the waiting delivery goes at once.
    receiver.failing = False
    admin = await login(api, world.admin.username)
    r = await api.patch(f"/api/v1/webhooks/{hook['id']}", json={"is_active": True},
                        headers=admin)
    assert r.status_code == 200 and r.json()["disabled_at"] is None
    outbox.relay_once(factory, channels, policy, clock)
    assert len(receiver.delivered()) == 1


async def test_subscription_rules_and_ssrf_guard(api, app, world, receiver):
    admin = await login(api, world.admin.username)
    manager = await login(api, world.manager.username)
    body = {"url": receiver.url, "events": ["ticket.called"], "site_id": world.site.id}
    r = await api.post("/api/v1/webhooks", headers=admin, json=body)
    assert r.status_code == 422 and r.json()["error"]["code"] == "target_refused"
    for url in ("http://169.254.169.254/latest", "http://10.1.2.3/", "http://[::1]:8080/",
                "ftp://example.org/", "http://user:pw@example.org/"):
        r = await api.post("/api/v1/webhooks", headers=admin, json={**body, "url": url})
        assert r.status_code == 422, url
    app.state.settings.webhook_allow_private_targets = True
    r = await api.post("/api/v1/webhooks", headers=admin, json={**body, "events": ["nope"]})
    assert r.status_code == 422
    assert (await api.post("/api/v1/webhooks", headers=manager, json=body)).status_code == 403
    r = await api.post("/api/v1/webhooks", headers=admin, json=body)
    assert r.status_code == 201
    hid = r.json()["id"]
    r = await api.patch(f"/api/v1/webhooks/{hid}", headers=admin,
                        json={"events": ["ticket.issued", "ticket.issued"]})
    assert r.json()["events"] == ["ticket.issued"]
    assert (await api.delete(f"/api/v1/webhooks/{hid}", headers=admin)).status_code == 204
    assert (await api.get(f"/api/v1/webhooks/{hid}", headers=admin)).status_code == 404


async def test_redirects_are_not_followed(api, hook_app, world, clock, receiver):
    other = Receiver()
    try:
        await _subscribe(api, world, receiver, events=["ticket.issued"])
        receiver.redirect_to = other.url
        await api.post("/api/v1/tickets", json={"service_id": world.ktp.id},
                       headers=auth(world.kiosk_token))
        factory, channels, policy = relay(hook_app, clock)
        fan_out(factory, clock())
        outbox.relay_once(factory, channels, policy, clock)
        assert [r["status"] for r in receiver.requests] == [302] and not other.requests
    finally:
        other.close()


@pytest.mark.parametrize(("address", "refused"), [
    ("127.0.0.1", True), ("10.0.0.5", True), ("192.168.1.1", True), ("172.16.0.1", True),
    ("169.254.169.254", True), ("100.64.0.1", True), ("0.0.0.0", True), ("::1", True),
    ("fe80::1", True), ("::ffff:127.0.0.1", True), ("fd00::1", True), ("224.0.0.1", True),
    ("8.8.8.8", False), ("2606:4700::1111", False),
])
def test_address_guard(address, refused):
    assert rules.address_refused(address) is refused


async def test_bookings_and_visit_steps_are_published(api, hook_app, world, clock, receiver,
                                                      session):
    from tests.api.test_booking_api import T0, book, enable, wib

    clock.set(T0 + timedelta(minutes=10))
    enable(session, world.ktp, slot_minutes=30, slot_capacity=5)
    await _subscribe(api, world, receiver, events=["booking.created", "booking.checked_in",
                                                   "visit.step_changed"])
    code = (await book(api, world.ktp.id, wib(1, 9))).json()["code"]
    clock.set(T0 + timedelta(minutes=70))
    r = await api.post(f"/api/v1/bookings/{code}/check-in", headers=auth(world.kiosk_token))
    assert r.status_code == 201, r.text
    factory, channels, policy = relay(hook_app, clock)
    assert fan_out(factory, clock()) == 2
    rows = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "webhook")
                           .order_by(OutboxMessage.id)).all()
    assert sorted(r.topic for r in rows) == ["booking.checked_in", "booking.created"]
    for row in rows:
        assert set(row.payload["data"]) <= rules.PAYLOAD_KEYS and code not in json.dumps(
            row.payload)
    assert rules.TICKET_EVENT_TYPES["step_queued"] == "visit.step_changed"


async def test_day_closed_is_published(api, hook_app, world, clock, receiver, session):
    from app.services import endofday
    from app.services.context import Ctx
    from app.services.mallfile import SYSTEM

    await _subscribe(api, world, receiver, events=["day.closed"])
    await api.post("/api/v1/tickets", json={"service_id": world.ktp.id},
                   headers=auth(world.kiosk_token))
    ctx = Ctx(session=session, now=clock(), actor=SYSTEM)
    result = endofday.close_day(ctx, world.site)
    endofday.close_day(ctx, world.site)  # a second run: the same key, no second delivery
    session.commit()
    factory, channels, policy = relay(hook_app, clock)
    assert fan_out(factory, clock()) == 0  # not subscribed to the ticket events
    outbox.relay_once(factory, channels, policy, clock)
    got = receiver.delivered()
    assert len(got) == 1 and got[0]["verified"] and got[0]["body"]["type"] == "day.closed"
    assert got[0]["body"]["data"]["tickets_closed"] == result.tickets_closed == 1
    assert got[0]["body"]["data"]["site_code"] == "mpp-uji"


async def test_cancelled_booking_is_published_from_its_committed_row(
        api, hook_app, world, clock, receiver, session):
    from zoneinfo import ZoneInfo

    from app.db.models import BookingEvent
    from tests.api.test_booking_api import book, enable

    # The real clock (the receiver checks the signature's timestamp): a service open at all
    # hours, a slot tomorrow.
    enable(session, world.ktp, slot_minutes=30, slot_capacity=5, opening_hours=None)
    day = (clock() + timedelta(days=1)).astimezone(ZoneInfo(world.site.timezone)).date()
    slots = (await api.get("/api/v1/booking/slots", params={
        "service_id": world.ktp.id, "date": day.isoformat()})).json()["slots"]
    start = next(s["start"] for s in slots if s["available"])
    await _subscribe(api, world, receiver, events=["booking.created", "booking.cancelled"])
    code = (await book(api, world.ktp.id, start, contact={
        "phone": "0812-3456-7890", "consent": True})).json()["code"]
    factory, channels, policy = relay(hook_app, clock)
    assert fan_out(factory, clock()) == 1  # booking.created
    r = await api.post(f"/api/v1/bookings/{code}/cancel")
    assert r.status_code == 200, r.text
    # The cancellation left a committed row of its own, whatever happens to the process next.
    session.expire_all()
    event = session.scalars(sa.select(BookingEvent)).one()
    assert event.type == "cancelled"
    # Cancelling twice is refused and writes nothing more.
    assert (await api.post(f"/api/v1/bookings/{code}/cancel")).status_code == 409
    assert fan_out(factory, clock()) == 1
    assert fan_out(factory, clock()) == 0  # the cursor moved on
    outbox.relay_once(factory, channels, policy, clock)
    got = receiver.delivered()
    assert [g["body"]["type"] for g in got] == ["booking.created", "booking.cancelled"]
    assert all(g["verified"] for g in got)
    cancelled = got[1]["body"]["data"]
    assert cancelled["status"] == "cancelled" and cancelled["booking_id"] == event.booking_id
    assert cancelled["service_code"] == world.ktp.code and cancelled["day"] == day.isoformat()
    assert set(cancelled) <= rules.PAYLOAD_KEYS
    body = json.dumps([g["body"] for g in got])
    assert code not in body and "3456" not in body and "6281" not in body
