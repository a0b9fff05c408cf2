"""Issue 16 item 3: one anonymous client must not book out a service. Limits per client address
and per device cookie in short windows, one open booking per phone per service, and a phone
confirmed by a one-time code where the service asks for it."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import sqlalchemy as sa

from app.api.ratelimit import DEVICE_COOKIE
from app.db.models import Booking, SlotCount
from app.domain import booking_limits
from app.domain.errors import DomainError
from app.services import outbox
from app.services.notify_providers import LogProvider, MessageChannel
from tests.api.test_booking_api import T0, book, enable, login, wib

PHONE = "0812-3456-7890"


def _booked(session, service_id) -> int:
    session.expire_all()
    return session.scalar(sa.select(sa.func.coalesce(sa.func.sum(SlotCount.booked), 0))
                          .where(SlotCount.service_id == service_id))


async def test_twenty_rapid_bookings_from_one_address_are_refused_after_the_limit(
        api, world, session, clock):
    clock.set(T0)
    enable(session, world.ktp, slot_minutes=30, slot_capacity=50, booking_quota_percent=100,
           daily_quota=None)
    # One script, one address, one second: 20 requests for the same slot.
    answers = [await book(api, world.ktp.id, wib(2, 9)) for _ in range(20)]
    codes = [r.status_code for r in answers]
    assert codes == [201] * 10 + [429] * 10, codes
    refused = answers[-1]
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # The places the refused requests asked for are still free for everyone else.
    assert _booked(session, world.ktp.id) == 10
    r = await api.get("/api/v1/booking/slots", params={"service_id": world.ktp.id,
                                                       "date": "2026-12-02"})
    nine = next(s for s in r.json()["slots"] if s["start"] == wib(2, 9))
    assert nine["left"] == 40 and nine["available"] is True
    # The next minute opens the address again (the hour's window still counts).
    clock.set(T0 + timedelta(seconds=61))
    assert (await book(api, world.ktp.id, wib(2, 9))).status_code == 201


async def test_limit_per_device_cookie_also_when_addresses_change(api, world, session, clock):
    clock.set(T0)
    enable(session, world.ktp, slot_minutes=30, slot_capacity=50, booking_quota_percent=100,
           daily_quota=None)
    admin = await login(api, world.admin.username)
    # The address limits off: a phone hopping between mobile-network addresses.
    r = await api.put("/api/v1/booking/policy", headers=admin, json={
        "ip_create_per_minute": 0, "ip_create_per_hour": 0, "device_create_per_minute": 3,
        "device_create_per_hour": 5})
    assert r.status_code == 200, r.text
    page = await api.get("/booking")
    device = page.cookies.get(DEVICE_COOKIE)
    assert device and "httponly" in page.headers["set-cookie"].lower()
    codes = [(await book(api, world.ktp.id, wib(2, 9))).status_code for _ in range(4)]
    assert codes == [201, 201, 201, 429]
    # Another browser is not affected.
    api.cookies.set(DEVICE_COOKIE, "another-browser")
    assert (await book(api, world.ktp.id, wib(2, 9))).status_code == 201
    api.cookies.set(DEVICE_COOKIE, device)
    clock.set(T0 + timedelta(seconds=61))
    # The hour's window holds 5, refused tries included (hammering never pays).
    assert (await book(api, world.ktp.id, wib(2, 9))).status_code == 201
    r = await book(api, world.ktp.id, wib(2, 9))
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
    assert int(r.headers["Retry-After"]) > 60  # until the hour's window has room
    assert _booked(session, world.ktp.id) == 5


def test_open_bookings_rule():
    booking_limits.check_open_per_phone_service(0, 1)
    booking_limits.check_open_per_phone_service(5, 0)  # 0 = off
    try:
        booking_limits.check_open_per_phone_service(1, 1)
    except DomainError as err:
        assert err.code == "booking_already_held" and err.status == 409
    else:
        raise AssertionError("a second open booking was allowed")


async def test_second_open_booking_for_the_same_phone_and_service_is_refused(
        api, world, session, clock):
    clock.set(T0)
    enable(session, world.ktp, slot_minutes=30, slot_capacity=5)
    enable(session, world.kk, slot_minutes=30, slot_capacity=5)
    contact = {"phone": PHONE, "consent": True}
    first = await book(api, world.ktp.id, wib(2, 9), contact=contact)
    assert first.status_code == 201, first.text
    # The same number written another way is the same phone.
    r = await book(api, world.ktp.id, wib(3, 10), contact={"phone": "+62 812 3456 7890",
                                                           "consent": True})
    assert r.status_code == 409 and r.json()["error"]["code"] == "booking_already_held"
    assert session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 1
    # Another service, or another phone, is fine.
    assert (await book(api, world.kk.id, wib(2, 9), contact=contact)).status_code == 201
    assert (await book(api, world.ktp.id, wib(2, 9), contact={
        "phone": "081298765432", "consent": True})).status_code == 201
    # A service that asks for name and phone counts the same way.
    enable(session, world.paspor, booking_requires_contact=True)
    person = {"name": "Ani", "phone": "081211112222", "consent": True}
    assert (await book(api, world.paspor.id, wib(2, 9), **person)).status_code == 201
    r = await book(api, world.paspor.id, wib(2, 10), **person)
    assert r.status_code == 409 and r.json()["error"]["code"] == "booking_already_held"
    # Cancelled, the place is given back and the phone may book again.
    code = first.json()["code"]
    assert (await api.post(f"/api/v1/bookings/{code}/cancel")).status_code == 200
    assert (await book(api, world.ktp.id, wib(3, 10), contact=contact)).status_code == 201


async def test_service_requiring_a_confirmed_phone_refuses_a_booking_without_its_code(
        api, app, world, session, clock, caplog):
    clock.set(T0)
    enable(session, world.ktp, slot_minutes=30, slot_capacity=5, requires_phone_otp=True)
    contact = {"phone": PHONE, "consent": True}
    r = await book(api, world.ktp.id, wib(2, 9))
    assert r.status_code == 422 and r.json()["error"]["field"] == "phone"
    r = await book(api, world.ktp.id, wib(2, 9), contact=contact)
    assert r.status_code == 422 and r.json()["error"]["field"] == "otp_code"
    r = await api.post("/api/v1/otp", json=contact)
    assert r.status_code == 201, r.text
    otp_id = r.json()["otp_id"]
    # The code as the citizen gets it: through the notification channel (the log provider).
    with caplog.at_level(logging.INFO, logger="app.services.notify_providers"):
        outbox.relay_once(app.state.session_factory, {"message": MessageChannel(LogProvider())},
                          outbox.RelayPolicy(), clock)
    found = re.search(r"Kode verifikasi MPP Anda: (\d{6})", caplog.text)
    assert found, caplog.text
    code = found.group(1)
    wrong = "000000" if code != "000000" else "111111"
    r = await book(api, world.ktp.id, wib(2, 9),
                   contact={**contact, "otp_id": otp_id, "otp_code": wrong})
    assert r.status_code == 422 and r.json()["error"]["field"] == "otp_code"
    # A code sent to another phone does not confirm this one.
    r = await book(api, world.ktp.id, wib(2, 9), contact={
        "phone": "081298765432", "consent": True, "otp_id": otp_id, "otp_code": code})
    assert r.status_code == 422
    assert session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 0
    r = await book(api, world.ktp.id, wib(2, 9),
                   contact={**contact, "otp_id": otp_id, "otp_code": code})
    assert r.status_code == 201, r.text
    assert "3456" not in r.text
    # One code, one booking.
    enable(session, world.kk, slot_minutes=30, slot_capacity=5, requires_phone_otp=True)
    r = await book(api, world.kk.id, wib(2, 9),
                   contact={**contact, "otp_id": otp_id, "otp_code": code})
    assert r.status_code == 422 and r.json()["error"]["field"] == "otp_code"


async def test_join_by_qr_asks_for_a_one_time_code_where_the_service_needs_one(
        api, app, world, session, clock, caplog):
    from app.db.models import Ticket

    world.ktp.requires_phone_otp = True
    session.commit()
    url = (await api.get(f"/api/v1/join/code?site_id={world.site.id}")).json()["url"]
    code = url.split("c=")[1]
    page = await api.get(f"/join/{world.site.id}?c={code}")
    assert "perlu nomor terverifikasi" in page.text
    form = {"code": code, "service_id": world.ktp.id}
    # No phone: refused, nothing sent.
    r = await api.post(f"/join/{world.site.id}", data=form)
    assert r.status_code == 422 and 'id="join-otp"' not in r.text
    # The reason sits beside the phone field, in plain words.
    assert 'id="join-phone-error"' in r.text and "phone:" not in r.text
    # A phone with consent: the code goes out and the form asks for it.
    r = await api.post(f"/join/{world.site.id}", data={**form, "phone": PHONE, "consent": "1"})
    assert r.status_code == 200 and 'id="join-otp-code"' in r.text
    otp_id = re.search(r'name="otp_id" value="(\d+)"', r.text).group(1)
    with caplog.at_level(logging.INFO, logger="app.services.notify_providers"):
        outbox.relay_once(app.state.session_factory, {"message": MessageChannel(LogProvider())},
                          outbox.RelayPolicy(), clock)
    sent = re.search(r"Kode verifikasi MPP Anda: (\d{6})", caplog.text).group(1)
    with_phone = {**form, "phone": PHONE, "consent": "1", "otp_id": otp_id}
    wrong = "000000" if sent != "000000" else "111111"
    r = await api.post(f"/join/{world.site.id}", data={**with_phone, "otp_code": wrong})
    assert r.status_code == 422 and session.scalar(
        sa.select(sa.func.count()).select_from(Ticket)) == 0
    assert 'id="join-otp-code-error"' in r.text and "otp_code:" not in r.text
    assert 'name="otp_id"' in r.text  # the code's field stays for another try
    # Typing the code took longer than the board's minute: still fine (judged when asked).
    clock.set(clock() + timedelta(minutes=3))
    r = await api.post(f"/join/{world.site.id}", data={**with_phone, "otp_code": sent})
    assert r.status_code == 303, r.text
    session.expire_all()
    assert session.scalar(sa.select(Ticket.channel)) == "qr"
    # A stale board code cannot ask for a new one-time code.
    r = await api.post(f"/join/{world.site.id}", data={
        **form, "service_id": world.ktp.id, "phone": "081298765432", "consent": "1"})
    assert r.status_code == 410
