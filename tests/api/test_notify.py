"""Citizens' contact and messages through the API: consent, normalisation, no echo, the
messages written with their causes, the board's join code, late and leave."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from app.db.models import OutboxMessage, Ticket, TicketContact, TicketEvent
from tests.api.test_queue_flow import login
from tests.conftest import auth

PHONE = "0812-3456-7890"
NORMAL = "6281234567890"


def _messages(session):
    return session.execute(sa.select(OutboxMessage.topic, OutboxMessage.target,
                                     OutboxMessage.payload).order_by(OutboxMessage.id)).all()


async def test_phone_without_consent_is_refused(api, world, session):
    kiosk = auth(world.kiosk_token)
    for contact in ({"phone": PHONE}, {"phone": PHONE, "consent": False}):
        r = await api.post("/api/v1/tickets", headers=kiosk,
                           json={"service_id": world.ktp.id, "contact": contact})
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "invalid_value"
    r = await api.post("/api/v1/tickets", headers=kiosk,
                       json={"service_id": world.ktp.id,
                             "contact": {"phone": "12", "consent": True}})
    assert r.status_code == 422
    assert session.scalar(sa.select(sa.func.count()).select_from(Ticket)) == 0


async def test_contact_is_kept_apart_messages_follow_the_ticket(api, world, session, clock):
    kiosk = auth(world.kiosk_token)
    r = await api.post("/api/v1/tickets", headers={**kiosk, "Idempotency-Key": "k-1"},
                       json={"service_id": world.ktp.id, "lang": "en",
                             "contact": {"phone": PHONE, "consent": True}})
    assert r.status_code == 201, r.text
    body = r.json()
    assert NORMAL not in r.text and "3456" not in r.text  # never echoed
    # A retry: the same ticket, no second contact or message.
    again = await api.post("/api/v1/tickets", headers={**kiosk, "Idempotency-Key": "k-1"},
                           json={"service_id": world.ktp.id, "lang": "en",
                                 "contact": {"phone": PHONE, "consent": True}})
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    row = session.get(TicketContact, body["id"])
    assert row.phone == NORMAL and row.lang == "en"
    assert row.consent_at == clock() and row.consent_version
    taken = _messages(session)
    assert [(m.topic, m.target) for m in taken] == [("ticket_taken", NORMAL)]
    assert taken[0].payload["params"]["link"].endswith(f"/t/{body['tracking_code']}")
    # The same phone cannot hold a second open ticket of this service today.
    r = await api.post("/api/v1/tickets", headers=kiosk,
                       json={"service_id": world.ktp.id,
                             "contact": {"phone": "+62 812 3456 7890", "consent": True}})
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_queued"

    track = await api.get(f"/api/v1/track/{body['tracking_code']}")
    assert NORMAL not in track.text and "3456" not in track.text

    officer = auth(await login(api, world.officer_d.username))
    await api.post(f"/api/v1/counters/{world.c1.id}/open", headers=officer)
    r = await api.post(f"/api/v1/counters/{world.c1.id}/call-next", headers=officer)
    assert r.json()["number"] == body["number"] and NORMAL not in r.text
    await api.post(f"/api/v1/tickets/{body['id']}/start", headers=officer)
    await api.post(f"/api/v1/tickets/{body['id']}/finish", headers=officer)
    msgs = _messages(session)
    assert [m.topic for m in msgs] == ["ticket_taken", "ticket_called", "ticket_done"]
    called = msgs[1].payload
    assert called["lang"] == "en" and called["params"]["counter"] == "1"
    assert msgs[2].payload["params"]["link"].endswith(f"/survey/{body['tracking_code']}")
    from app.services.notify_texts import render

    assert render("ticket_called", "en", called["params"]).startswith(
        f"Number {body['number']} is called to counter 1")


async def test_a_few_people_ahead_once_and_switches(api, world, session):
    kiosk = auth(world.kiosk_token)
    for _ in range(4):
        await api.post("/api/v1/tickets", headers=kiosk, json={"service_id": world.ktp.id})
    r = await api.post("/api/v1/tickets", headers=kiosk,
                       json={"service_id": world.ktp.id,
                             "contact": {"phone": PHONE, "consent": True}})
    mine = r.json()
    assert mine["people_ahead"] == 4
    admin = auth(await login(api, world.manager.username))
    r = await api.put(f"/api/v1/sites/{world.site.id}/notifications", headers=admin,
                      json={"enabled": {"ticket_called": False}, "ahead": {}})
    assert r.status_code == 200, r.text
    officer = auth(await login(api, world.officer_d.username))
    await api.post(f"/api/v1/counters/{world.c1.id}/open", headers=officer)
    await api.post(f"/api/v1/counters/{world.c1.id}/call-next", headers=officer)
    assert [m.topic for m in _messages(session)] == ["ticket_taken", "ticket_ahead"]
    assert _messages(session)[1].payload["params"]["ahead"] == 3
    for _ in range(3):
        await api.post(f"/api/v1/counters/{world.c1.id}/call-next", headers=officer)
    # "A few ahead" went once; "called" is switched off for this site.
    assert [m.topic for m in _messages(session)] == ["ticket_taken", "ticket_ahead"]


async def test_board_code_joins_and_expires(api, app, world, session, clock):
    r = await api.get(f"/api/v1/join/code?site_id={world.site.id}")
    assert r.status_code == 200, r.text
    url = r.json()["url"]
    path = url.split("://", 1)[1].split("/", 1)[1]
    code = path.split("c=")[1]
    page = await api.get("/" + path)
    assert page.status_code == 200 and "join-form" in page.text
    cookie = page.cookies.get("mpp_holder")
    assert cookie
    r = await api.post(f"/join/{world.site.id}", data={"code": code,
                                                       "service_id": world.ktp.id},
                       cookies={"mpp_holder": cookie})
    assert r.status_code == 303, r.text
    tracking = r.headers["location"].rsplit("/", 1)[1]
    ticket = session.scalar(sa.select(Ticket).where(Ticket.tracking_code == tracking))
    assert ticket.channel == "qr" and ticket.status == "waiting"
    # One open ticket per browser per service per day.
    r = await api.post(f"/join/{world.site.id}", data={"code": code,
                                                       "service_id": world.ktp.id},
                       cookies={"mpp_holder": cookie})
    assert r.status_code == 409
    # Two minutes later the photo of the code is useless.
    clock.set(clock() + timedelta(minutes=2, seconds=1))
    r = await api.post(f"/join/{world.site.id}", data={"code": code,
                                                       "service_id": world.kk.id},
                       cookies={"mpp_holder": cookie})
    assert r.status_code == 410
    r = await api.post(f"/join/{world.site.id}", data={"code": code[:-2] + "xx",
                                                       "service_id": world.kk.id})
    assert r.status_code == 410


async def test_late_once_and_leave(api, world, session, clock):
    kiosk = auth(world.kiosk_token)
    made = []
    for _ in range(5):
        clock.set(clock() + timedelta(seconds=1))
        made.append((await api.post("/api/v1/tickets", headers=kiosk,
                                    json={"service_id": world.ktp.id})).json())
    first = made[0]["tracking_code"]
    r = await api.post(f"/t/{first}/late")
    assert r.status_code == 303
    assert (await api.get(f"/api/v1/track/{first}")).json()["people_ahead"] == 3
    r = await api.post(f"/t/{first}/late")
    assert r.status_code == 409
    r = await api.post(f"/t/{made[1]['tracking_code']}/leave")
    assert r.status_code == 303
    assert (await api.get(f"/api/v1/track/{made[1]['tracking_code']}")).json()["status"] == "cancelled"
    assert (await api.get(f"/api/v1/track/{first}")).json()["people_ahead"] == 2
    assert session.scalar(sa.select(sa.func.count()).select_from(TicketEvent).where(
        TicketEvent.type == "late")) == 1


async def test_booking_contact_confirms_reminds_and_follows_the_ticket(api, world, session,
                                                                      clock):
    from tests.api.test_booking_api import T0, book, enable, wib

    clock.set(T0)  # Tuesday 08:00 WIB
    enable(session, world.ktp, slot_minutes=30, slot_capacity=2)
    r = await book(api, world.ktp.id, wib(2, 10), contact={"phone": PHONE})
    assert r.status_code == 422  # no consent, no phone
    r = await book(api, world.ktp.id, wib(2, 10), lang="en",
                   contact={"phone": PHONE, "consent": True})
    assert r.status_code == 201, r.text
    assert NORMAL not in r.text and "3456" not in r.text
    first = r.json()
    rows = session.execute(sa.select(OutboxMessage.topic, OutboxMessage.target,
                                     OutboxMessage.next_attempt_at)
                           .order_by(OutboxMessage.id)).all()
    start = datetime.fromisoformat(wib(2, 10))
    assert [(t, target) for t, target, _ in rows] == [
        ("booking_confirmed", NORMAL), ("booking_reminder_day", NORMAL),
        ("booking_reminder_hour", NORMAL)]
    assert [due for _, _, due in rows] == [T0, start - timedelta(days=1),
                                           start - timedelta(hours=1)]
    # Cancelled: the reminders never go, the cancellation does.
    r = await api.post(f"/api/v1/bookings/{first['code']}/cancel")
    assert r.status_code == 200
    status = dict(session.execute(sa.select(OutboxMessage.topic, OutboxMessage.status)).all())
    assert status == {"booking_confirmed": "pending", "booking_reminder_day": "skipped",
                      "booking_reminder_hour": "skipped", "booking_cancelled": "pending"}

    # A booking for today, checked in: its contact follows the ticket to the counter.
    r = await book(api, world.ktp.id, wib(1, 9), contact={"phone": "081298765432",
                                                          "consent": True})
    code = r.json()["code"]
    clock.set(T0 + timedelta(minutes=50))
    r = await api.post(f"/api/v1/bookings/{code}/check-in", headers=auth(world.kiosk_token))
    assert r.status_code in (200, 201), r.text
    officer = auth(await login(api, world.officer_d.username))
    await api.post(f"/api/v1/counters/{world.c1.id}/open", headers=officer)
    r = await api.post(f"/api/v1/counters/{world.c1.id}/call-next", headers=officer)
    assert r.status_code == 200, r.text
    called = session.execute(sa.select(OutboxMessage.target).where(
        OutboxMessage.topic == "ticket_called")).scalars().all()
    assert called == ["6281298765432"]


async def test_staff_add_a_number_masked_and_purged(api, world, session, clock):
    from app.services import purge

    r = await api.post("/api/v1/tickets", headers=auth(world.kiosk_token),
                       json={"service_id": world.ktp.id})
    tid = r.json()["id"]
    officer = auth(await login(api, world.officer_d.username))
    r = await api.post(f"/api/v1/tickets/{tid}/contact", headers=officer,
                       json={"phone": PHONE, "consent": False})
    assert r.status_code == 422
    r = await api.post(f"/api/v1/tickets/{tid}/contact", headers=officer,
                       json={"phone": PHONE, "consent": True})
    assert r.status_code == 200, r.text
    assert r.json()["phone"] == "6281******890" and NORMAL not in r.text
    got = await api.get(f"/api/v1/tickets/{tid}/contact", headers=officer)
    assert got.json()["phone"] == "6281******890"
    other = auth(await login(api, world.officer_i.username))
    assert (await api.get(f"/api/v1/tickets/{tid}/contact", headers=other)).status_code == 403
    assert [m.topic for m in _messages(session)] == ["ticket_taken"]

    later = clock() + timedelta(days=91)
    result = purge.purge(session, now=later, days=90)
    assert result.contact_phones == 2  # the ticket's and its message's
    session.expire_all()
    assert session.get(TicketContact, tid).phone is None
    assert _messages(session)[0].target is None


async def test_service_requiring_a_confirmed_phone(api, world, session):
    from app.db.models import PhoneCode

    world.ktp.requires_phone_otp = True
    session.commit()
    kiosk = auth(world.kiosk_token)
    body = {"service_id": world.ktp.id, "contact": {"phone": PHONE, "consent": True}}
    r = await api.post("/api/v1/tickets", headers=kiosk, json=body)
    assert r.status_code == 422 and "otp_code" in r.json()["error"]["message"]
    r = await api.post("/api/v1/otp", json={"phone": PHONE})
    assert r.status_code == 422  # no consent, no code
    r = await api.post("/api/v1/otp", json={"phone": PHONE, "consent": True})
    assert r.status_code == 201, r.text
    otp_id = r.json()["otp_id"]
    sent = session.execute(sa.select(OutboxMessage.target, OutboxMessage.payload).where(
        OutboxMessage.topic == "otp_code")).one()
    assert sent.target == NORMAL
    code = sent.payload["params"]["code"]
    assert session.get(PhoneCode, otp_id).code_hash != code  # only its HMAC is kept
    wrong = "000000" if code != "000000" else "111111"
    r = await api.post("/api/v1/tickets", headers=kiosk, json={**body, "contact": {
        **body["contact"], "otp_id": otp_id, "otp_code": wrong}})
    assert r.status_code == 422
    session.expire_all()
    assert session.get(PhoneCode, otp_id).attempts == 1  # the wrong guess still counts
    r = await api.post("/api/v1/tickets", headers=kiosk, json={**body, "contact": {
        **body["contact"], "otp_id": otp_id, "otp_code": code}})
    assert r.status_code == 201, r.text
    assert session.get(TicketContact, r.json()["id"]).verified is True
    # A code confirms one ticket only.
    world.kk.requires_phone_otp = True
    session.commit()
    r = await api.post("/api/v1/tickets", headers=kiosk, json={
        "service_id": world.kk.id, "contact": {**body["contact"], "otp_id": otp_id,
                                               "otp_code": code}})
    assert r.status_code == 422


async def test_confirmed_phone_service_refuses_a_tap_without_phone(api, world, session):
    """A service that asks for a phone confirmed by a code: a kiosk tap without a phone is
    refused (on every path, the kiosk's fast one included), the catalog says so, and staff
    who see the citizen still issue."""
    world.ktp.requires_phone_otp = True
    session.commit()
    kiosk = auth(world.kiosk_token)
    r = await api.get("/api/v1/catalog", params={"site_id": world.site.id})
    listed = {s["id"]: s for a in r.json()["agencies"] for s in a["services"]}
    assert listed[world.ktp.id]["requires_phone_otp"] is True
    assert listed[world.kk.id]["requires_phone_otp"] is False
    for lang, words in (("id", "nomor ponsel yang dikonfirmasi"), ("en", "confirmed")):
        r = await api.post("/api/v1/tickets", headers={**kiosk, "Accept-Language": lang,
                                                       "Idempotency-Key": f"k-{lang}"},
                           json={"service_id": world.ktp.id})
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "phone_required"
        assert words in r.json()["error"]["message"]
    assert session.scalar(sa.select(sa.func.count()).select_from(Ticket)) == 0
    r = await api.post("/api/v1/tickets", headers=kiosk, json={"service_id": world.kk.id})
    assert r.status_code == 201, r.text
    officer = auth(await login(api, world.officer_d.username))
    r = await api.post("/api/v1/tickets", headers=officer, json={"service_id": world.ktp.id})
    assert r.status_code == 201, r.text


async def test_one_time_codes_a_kiosk_asks_for_count_per_kiosk_not_per_address(api, world):
    """Every phone in the hall asks through the kiosk's one address: the kiosk has its own
    budget; anyone else keeps the per-address one."""
    from app.api.routes_notify import OTP_PER_ADDRESS_HOUR

    kiosk = auth(world.kiosk_token)
    phones = [f"0812345678{i:02d}" for i in range(OTP_PER_ADDRESS_HOUR + 1)]
    for phone in phones:
        r = await api.post("/api/v1/otp", headers=kiosk, json={"phone": phone, "consent": True})
        assert r.status_code == 201, r.text
    for phone in phones[:-1]:
        r = await api.post("/api/v1/otp", json={"phone": phone, "consent": True})
        assert r.status_code == 201, r.text
    r = await api.post("/api/v1/otp", json={"phone": phones[-1], "consent": True})
    assert r.status_code == 429
    r = await api.post("/api/v1/otp", headers=auth("dev_forged"),
                       json={"phone": phones[0], "consent": True})
    assert r.status_code == 401
