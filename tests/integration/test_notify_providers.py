"""Each provider against a local stand-in of its HTTP API: what is sent, what the answer
means, and the provider's status callback moving the row on."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.config import Settings
from app.db.models import OutboxMessage
from app.db.session import unit_of_work
from app.services import notify_providers, outbox
from tests.support.providers import SmsStandIn, WhatsAppStandIn

PHONE = "6281234567890"


@pytest.fixture
def whatsapp():
    stand_in = WhatsAppStandIn().start()
    yield stand_in
    stand_in.stop()


@pytest.fixture
def sms():
    stand_in = SmsStandIn().start()
    yield stand_in
    stand_in.stop()


def _settings(env, **extra):
    values = {k.removeprefix("MPP_").lower(): v for k, v in env.items()}
    if "sms_extra_params" in values:
        values["sms_extra_params"] = json.loads(values["sms_extra_params"])
    return Settings(env="test", **{**values, **extra})


def _enqueue(session_factory, clock, key, kind="ticket_called", lang="id"):
    with unit_of_work(session_factory) as s:
        outbox.enqueue(s, kind="message", topic=kind, key=key, target=PHONE, now=clock(),
                       payload={"type": kind, "lang": lang,
                                "params": {"number": "A-007", "counter": "3",
                                           "place": "lantai 2, zona B"}})


def _relay(session_factory, settings, clock):
    channel = notify_providers.MessageChannel(notify_providers.make_provider(settings))
    return outbox.relay_once(session_factory, {"message": channel},
                             outbox.RelayPolicy.from_settings(settings), clock)


def _row(session, key):
    session.expire_all()
    return session.scalar(sa.select(OutboxMessage).where(OutboxMessage.key == key))


async def test_whatsapp_text_template_and_status_callback(api, app, session_factory, session,
                                                          clock, whatsapp):
    settings = _settings(whatsapp.settings(), whatsapp_app_secret="app-secret",
                         whatsapp_templates={"ticket_taken": {"name": "antrean_diambil",
                                                              "language": "id"}})
    app.state.settings = settings
    _enqueue(session_factory, clock, "m-text", lang="en")
    _enqueue(session_factory, clock, "m-tpl", kind="ticket_taken")
    assert _relay(session_factory, settings, clock) == 2
    text = whatsapp.delivered["m-text"]
    assert text["to"] == PHONE and text["type"] == "text"
    assert text["text"]["body"] == ("Number A-007 is called to counter 3, lantai 2, zona B. "
                                    "Please go to the counter.")
    tpl = whatsapp.delivered["m-tpl"]
    assert tpl["type"] == "template" and tpl["template"]["name"] == "antrean_diambil"
    assert tpl["template"]["language"] == {"code": "id"}
    assert [p["text"] for p in tpl["template"]["components"][0]["parameters"]] == ["A-007", "", ""]
    row = _row(session, "m-text")
    assert row.status == "sent" and row.provider_ref.startswith("wamid.")

    report = {"object": "whatsapp_business_account", "entry": [{"changes": [{"value": {
        "statuses": [{"id": row.provider_ref, "status": "delivered", "recipient_id": PHONE}]}}]}]}
    raw = json.dumps(report).encode()
    bad = await api.post("/api/v1/notify/whatsapp/status", content=raw,
                         headers={"x-hub-signature-256": "sha256=00"})
    assert bad.status_code == 403
    mac = hmac.new(b"app-secret", raw, hashlib.sha256).hexdigest()
    ok = await api.post("/api/v1/notify/whatsapp/status", content=raw,
                        headers={"x-hub-signature-256": f"sha256={mac}",
                                 "content-type": "application/json"})
    assert ok.status_code == 200 and ok.json() == {"updated": 1}
    row = _row(session, "m-text")
    assert row.status == "delivered" and row.delivered_at == clock()


async def test_whatsapp_refusals_and_outage(session_factory, session, clock, whatsapp):
    settings = _settings(whatsapp.settings(), outbox_retry_base_seconds=5)
    wrong = settings.model_copy(update={"whatsapp_token": "expired"})
    _enqueue(session_factory, clock, "m-401")
    _relay(session_factory, wrong, clock)
    row = _row(session, "m-401")
    assert row.status == "failed" and "401" in row.last_error  # refused: not retried
    whatsapp.fail_status = 500
    _enqueue(session_factory, clock, "m-500")
    _relay(session_factory, settings, clock)
    row = _row(session, "m-500")
    assert row.status == "pending" and row.attempts == 1 and "500" in row.last_error
    whatsapp.fail_status = None
    later = clock() + timedelta(seconds=5)
    _relay(session_factory, settings, lambda: later)
    assert _row(session, "m-500").status == "sent"
    assert "m-500" in whatsapp.delivered


async def test_http_sms_gateway_and_its_report(api, app, session_factory, session, clock, sms):
    settings = _settings(sms.settings(), sms_callback_token="cb-token")
    app.state.settings = settings
    _enqueue(session_factory, clock, "s-1")
    assert _relay(session_factory, settings, clock) == 1
    sent = sms.delivered["s-1"]
    assert sent["msisdn"] == PHONE and sent["sender"] == "MPP"
    assert sent["message"].startswith("Nomor A-007 dipanggil ke loket 3")
    row = _row(session, "s-1")
    assert row.status == "sent" and row.provider_ref.startswith("sms-")
    r = await api.get(f"/api/v1/notify/sms/status?token=wrong&id={row.provider_ref}"
                      "&status=DELIVRD")
    assert r.status_code == 403
    r = await api.get(f"/api/v1/notify/sms/status?token=cb-token&id={row.provider_ref}"
                      "&status=DELIVRD")
    assert r.json() == {"updated": 1}
    assert _row(session, "s-1").status == "delivered"


async def test_sms_report_by_form_post_and_each_route_its_own_operation(
        api, app, session_factory, session, clock, sms):
    """GET and POST of the gateways' report are two operations (distinct OpenAPI ids)."""
    settings = _settings(sms.settings(), sms_callback_token="cb-token")
    app.state.settings = settings
    _enqueue(session_factory, clock, "s-2")
    assert _relay(session_factory, settings, clock) == 1
    ref = _row(session, "s-2").provider_ref
    r = await api.post("/api/v1/notify/sms/status?token=cb-token",
                       data={"id": ref, "status": "delivered"})
    assert r.json() == {"updated": 1}
    assert _row(session, "s-2").status == "delivered"
    spec = (await api.get("/openapi.json")).json()
    ops = spec["paths"]["/api/v1/notify/sms/status"]
    assert {ops["get"]["operationId"], ops["post"]["operationId"]} == {
        "sms_status_get", "sms_status_post"}
    every = [o["operationId"] for p in spec["paths"].values() for o in p.values()
             if isinstance(o, dict) and "operationId" in o]
    assert len(every) == len(set(every))


def test_a_delivery_report_before_the_relays_own_record_is_kept(session_factory, session,
                                                                clock):
    """WhatsApp may call the status webhook before the relay has stored its attempt: the
    relay's "sent" then does not undo the "delivered" already written."""
    _enqueue(session_factory, clock, "race-1")
    policy = outbox.RelayPolicy.from_settings(Settings(env="test"))
    with unit_of_work(session_factory) as s:
        (item,) = outbox.claim(s, clock(), policy, "tok")
    with unit_of_work(session_factory) as s:
        assert outbox.record_status(s, status="delivered", now=clock(), key="race-1",
                                    provider_ref="wamid.early")
    with unit_of_work(session_factory) as s:
        outbox.record(s, item, notify_providers.Outcome("sent", provider_ref="wamid.early"),
                      "tok", clock(), policy)
    row = _row(session, "race-1")
    assert row.status == "delivered" and row.delivered_at is not None
    assert row.provider_ref == "wamid.early"
    # Nor is it claimed and sent again once its lease has run out.
    later = clock() + policy.lease + timedelta(seconds=1)
    with unit_of_work(session_factory) as s:
        assert outbox.claim(s, later, policy, "tok-2") == []
