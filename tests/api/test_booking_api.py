"""Online booking through the public API: book, look up, cancel, check in, quotas, rate limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from app.db.models import AuditLog, Booking, Device, ServiceDay, Site, Ticket
from app.services import auth as auth_svc
from app.services import booking as svc
from tests.conftest import auth
from tests.support.world import PASSWORD

# Tuesday 1 December 2026, 08:00 WIB.
T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
HOURS = {d: [["08:00", "12:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


async def login(api, username: str) -> dict[str, str]:
    r = await api.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return auth(r.json()["access_token"])


def enable(session, service, **kw):
    service.booking_enabled = True
    service.opening_hours = kw.pop("opening_hours", HOURS)
    for k, v in kw.items():
        setattr(service, k, v)
    session.commit()


def wib(day: int, hh: int, mm: int = 0) -> str:
    return f"2026-12-{day:02d}T{hh:02d}:{mm:02d}:00+07:00"


async def book(api, service_id, start, **extra):
    return await api.post("/api/v1/bookings", json={"service_id": service_id, "slot_start": start,
                                                    **extra})


async def test_catalog_slots_book_lookup_cancel(api, world, session, clock):
    clock.set(T0)
    enable(session, world.ktp, slot_minutes=30, slot_capacity=2)
    r = await api.get("/api/v1/booking/catalog", params={"site_id": world.site.id})
    assert r.status_code == 200, r.text
    services = [s for a in r.json()["agencies"] for s in a["services"]]
    # Only services that take bookings are listed, with their requirements and fee.
    assert [s["id"] for s in services] == [world.ktp.id]
    assert services[0]["requirements"] == "Fotokopi KK" and services[0]["fee"] == "Gratis"
    assert services[0]["first_day"] == "2026-12-01" and services[0]["last_day"] == "2026-12-08"

    r = await api.get("/api/v1/booking/slots", params={"service_id": world.ktp.id,
                                                       "date": "2026-12-01"})
    assert r.status_code == 200, r.text
    slots = r.json()["slots"]
    assert [s["start"] for s in slots][:2] == [wib(1, 8), wib(1, 8, 30)]
    assert len(slots) == 8 and slots[-1]["end"] == wib(1, 12)
    # 08:00 starts right now: too late to book it.
    assert slots[0]["available"] is False and slots[1]["available"] is True

    r = await book(api, world.ktp.id, wib(1, 9), name="Budi", phone="081234567890")
    assert r.status_code == 201, r.text
    b = r.json()
    assert len(b["code"]) == 8 and b["status"] == "booked"
    assert b["slot_start"] == wib(1, 9) and b["checkin_opens"] == wib(1, 8, 45)
    # The service does not ask for contact data, so none is kept.
    row = session.scalar(sa.select(Booking).where(Booking.code == b["code"]))
    assert row.name is None and row.phone is None and b["has_contact"] is False

    r = await api.get(b["qr_svg_url"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in r.content

    r = await api.get(f"/api/v1/bookings/{b['code'].lower()[:4]}-{b['code'][4:]}")
    assert r.status_code == 200 and r.json()["code"] == b["code"]
    r = await api.get("/api/v1/booking/slots", params={"service_id": world.ktp.id,
                                                       "date": "2026-12-01"})
    nine = [s for s in r.json()["slots"] if s["start"] == wib(1, 9)][0]
    assert nine["booked"] == 1 and nine["left"] == 1

    r = await api.post(f"/api/v1/bookings/{b['code']}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    r = await api.post(f"/api/v1/bookings/{b['code']}/cancel")
    assert r.status_code == 409 and r.json()["error"]["code"] == "booking_state"
    r = await api.get("/api/v1/booking/slots", params={"service_id": world.ktp.id,
                                                       "date": "2026-12-01"})
    nine = [s for s in r.json()["slots"] if s["start"] == wib(1, 9)][0]
    assert nine["booked"] == 0
    r = await api.get("/api/v1/bookings/ZZZZ9999")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


async def test_slot_capacity_and_invalid_requests(api, world, session, clock):
    clock.set(T0)
    enable(session, world.ktp, slot_minutes=30, slot_capacity=2, booking_days_ahead=3)
    for _ in range(2):
        assert (await book(api, world.ktp.id, wib(1, 10))).status_code == 201
    r = await book(api, world.ktp.id, wib(1, 10))
    assert r.status_code == 409 and r.json()["error"]["code"] == "slot_full"
    assert r.json()["error"]["message"] == "Slot waktu ini sudah penuh"
    cases = [
        (wib(1, 10, 10), "booking_not_allowed"),  # not on the slot grid
        (wib(1, 12), "booking_not_allowed"),  # after closing
        (wib(5, 9), "booking_not_allowed"),  # beyond booking_days_ahead
        (wib(6, 9), "booking_not_allowed"),  # Sunday: closed (and too far)
        (wib(1, 7, 30), "booking_not_allowed"),  # before opening
    ]
    for start, code in cases:
        r = await book(api, world.ktp.id, start)
        assert r.status_code == 409 and r.json()["error"]["code"] == code, (start, r.text)
    r = await book(api, world.kk.id, wib(1, 9))
    assert r.status_code == 409 and r.json()["error"]["code"] == "booking_not_allowed"
    r = await api.post("/api/v1/bookings", json={"service_id": world.ktp.id, "slot_start": "x"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    r = await api.get("/api/v1/booking/slots", params={"service_id": world.ktp.id,
                                                       "date": "2026-11-30"})
    assert r.status_code == 409
    r = await api.get("/api/v1/bookings/" + "A" * 40)
    assert r.status_code == 422


async def test_contact_required_consent_and_masking(api, world, session, clock):
    clock.set(T0)
    enable(session, world.paspor, booking_requires_contact=True)
    r = await book(api, world.paspor.id, wib(1, 9), phone="081234567890", consent=True)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_value"
    r = await book(api, world.paspor.id, wib(1, 9), name="Siti", phone="081234567890")
    assert r.status_code == 422 and "consent" in r.json()["error"]["message"]
    r = await book(api, world.paspor.id, wib(1, 9), name="Siti", phone="12ab", consent=True)
    assert r.status_code == 422 and "phone" in r.json()["error"]["message"]
    r = await book(api, world.paspor.id, wib(1, 9), name="Siti Aminah",
                   phone="+62 812-3456-7890", consent=True)
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    row = session.scalar(sa.select(Booking).where(Booking.code == code))
    assert row.phone == "081234567890" and row.consent_at is not None
    public = (await api.get(f"/api/v1/bookings/{code}")).text
    assert "Siti" not in public and "7890" not in public and "0812" not in public

    officer = await login(api, world.officer_i.username)
    r = await api.get("/api/v1/bookings", params={"service_id": world.paspor.id,
                                                  "date": "2026-12-01"}, headers=officer)
    assert r.status_code == 200, r.text
    listed = r.json()["bookings"][0]
    assert listed["name"] == "Siti Aminah" and listed["phone"] == "0812*****890"
    # Who looked at personal data is logged.
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditLog).where(
        AuditLog.entity == "booking_list")) == 1
    other = await login(api, world.officer_d.username)
    r = await api.get("/api/v1/bookings", params={"service_id": world.paspor.id,
                                                  "date": "2026-12-01"}, headers=other)
    assert r.status_code == 403


async def test_check_in_orders_booking_before_later_walk_ins(api, world, session, clock):
    clock.set(T0 + timedelta(minutes=10))  # 08:10
    enable(session, world.ktp, slot_minutes=30, slot_capacity=5)
    kiosk = auth(world.kiosk_token)
    code = (await book(api, world.ktp.id, wib(1, 9))).json()["code"]
    w1 = (await api.post("/api/v1/tickets", json={"service_id": world.ktp.id},
                         headers=kiosk)).json()
    r = await api.post(f"/api/v1/bookings/{code}/check-in", headers=kiosk)
    assert r.status_code == 409 and r.json()["error"]["code"] == "booking_too_early"
    assert "08.45" in r.json()["error"]["message"]
    clock.set(T0 + timedelta(minutes=65))  # 09:05
    w2 = (await api.post("/api/v1/tickets", json={"service_id": world.ktp.id},
                         headers=kiosk)).json()
    clock.set(T0 + timedelta(minutes=70))  # 09:10
    r = await api.post(f"/api/v1/bookings/{code}/check-in")
    assert r.status_code == 401
    r = await api.post(f"/api/v1/bookings/{code}/check-in", headers=kiosk)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["late"] is False and body["booking"]["status"] == "checked_in"
    ticket = body["ticket"]
    assert ticket["channel"] == "booking" and ticket["number"] == "A-003"
    # Ahead of the 09:05 walk-in, behind the 08:10 one.
    assert ticket["people_ahead"] == 1
    again = await api.post(f"/api/v1/bookings/{code}/check-in", headers=kiosk)
    assert again.status_code == 200 and again.json()["ticket"]["id"] == ticket["id"]
    row = session.get(Ticket, ticket["id"])
    assert row.booking_id is not None and row.sort_at == datetime(2026, 12, 1, 2, 0, tzinfo=UTC)

    officer = await login(api, world.officer_d.username)
    await api.post(f"/api/v1/counters/{world.c1.id}/open", headers=officer)
    called = []
    for _ in range(3):
        r = await api.post(f"/api/v1/counters/{world.c1.id}/call-next", headers=officer)
        called.append(r.json()["number"])
        await api.post(f"/api/v1/tickets/{r.json()['id']}/no-show", headers=officer)
    assert called == [w1["number"], ticket["number"], w2["number"]]
    r = await api.post(f"/api/v1/bookings/{code}/cancel")
    assert r.status_code == 409 and r.json()["error"]["code"] == "booking_state"


async def test_check_in_by_officer_and_other_site_kiosk_refused(api, world, session, clock):
    clock.set(T0)
    enable(session, world.ktp)
    code = (await book(api, world.ktp.id, wib(1, 8, 30))).json()["code"]
    site2 = Site(code="mpp-lain", name="MPP Lain", timezone="Asia/Jakarta")
    session.add(site2)
    session.flush()
    token, token_hash = auth_svc.new_device_token()
    session.add(Device(site_id=site2.id, kind="kiosk", name="Kiosk lain", token_hash=token_hash))
    session.commit()
    clock.set(T0 + timedelta(minutes=20))
    r = await api.post(f"/api/v1/bookings/{code}/check-in", headers=auth(token))
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    officer = await login(api, world.officer_i.username)  # any officer of the same site
    r = await api.post(f"/api/v1/bookings/{code}/check-in", headers=officer)
    assert r.status_code == 201 and r.json()["ticket"]["channel"] == "booking"


async def test_booking_share_and_walk_ins_share_the_quota(api, world, session, clock):
    clock.set(T0)
    # Q = 30, B = 3 held for bookings; slots 08:00-12:00.
    enable(session, world.paspor, booking_quota_percent=10, slot_capacity=10)
    for _ in range(2):
        assert (await book(api, world.paspor.id, wib(1, 10))).status_code == 201
    kiosk = auth(world.kiosk_token)
    issued = 0
    while True:
        r = await api.post("/api/v1/tickets", json={"service_id": world.paspor.id},
                           headers=kiosk)
        if r.status_code != 201:
            break
        issued += 1
    # Walk-ins stop at Q - B = 27: the one unbooked place stays held for bookings.
    assert issued == 27 and r.json()["error"]["code"] == "quota_exhausted"
    assert (await book(api, world.paspor.id, wib(1, 11))).status_code == 201
    r = await book(api, world.paspor.id, wib(1, 11))
    assert r.status_code == 409 and r.json()["error"]["code"] == "booking_quota_exhausted"
    sd = session.scalar(sa.select(ServiceDay).where(ServiceDay.service_id == world.paspor.id)
                        .execution_options(populate_existing=True))
    assert (sd.quota_used, sd.booked) == (30, 3)
    # A cancellation gives the place back; after the last slot has started walk-ins get it.
    first = session.scalars(sa.select(Booking.code).where(
        Booking.service_id == world.paspor.id).order_by(Booking.id)).first()
    assert (await api.post(f"/api/v1/bookings/{first}/cancel")).status_code == 200
    r = await api.post("/api/v1/tickets", json={"service_id": world.paspor.id}, headers=kiosk)
    assert r.status_code == 409
    clock.set(T0 + timedelta(hours=3, minutes=31))  # 11:31: no slot left to book today
    r = await api.post("/api/v1/tickets", json={"service_id": world.paspor.id}, headers=kiosk)
    assert r.status_code == 201, r.text
    r = await api.post("/api/v1/tickets", json={"service_id": world.paspor.id}, headers=kiosk)
    assert r.status_code == 409 and r.json()["error"]["code"] == "quota_exhausted"


async def test_rate_limits_per_ip_and_phone(api, world, session, clock):
    clock.set(T0)
    enable(session, world.paspor, booking_requires_contact=True, slot_capacity=50,
           booking_quota_percent=100)
    admin = await login(api, world.admin.username)
    # The per-day count alone (the open-per-service cap has its own test).
    r = await api.put("/api/v1/booking/policy", json={"ip_lookup_per_minute": 3,
                                                      "phone_create_per_day": 2,
                                                      "open_per_phone_service": 0},
                      headers=admin)
    assert r.status_code == 200 and r.json()["ip_lookup_per_minute"] == 3
    for _ in range(3):
        assert (await api.get("/api/v1/bookings/ABCD2345")).status_code == 404
    r = await api.get("/api/v1/bookings/ABCD2345", headers={"Accept-Language": "en"})
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
    assert int(r.headers["Retry-After"]) == 60
    assert r.json()["error"]["message"] == "Too many requests; try again in 60 seconds"
    clock.set(T0 + timedelta(seconds=61))  # a new window
    assert (await api.get("/api/v1/bookings/ABCD2345")).status_code == 404

    person = {"name": "Ani", "phone": "0812 1111 2222", "consent": True}
    for hh in (9, 10):
        assert (await book(api, world.paspor.id, wib(1, hh), **person)).status_code == 201
    r = await book(api, world.paspor.id, wib(1, 11), **person)
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
    # Another phone number is not affected.
    r = await book(api, world.paspor.id, wib(1, 11), name="Ina", phone="081233334444",
                   consent=True)
    assert r.status_code == 201
    r = await api.put("/api/v1/booking/policy", json={"late_policy": "maybe"}, headers=admin)
    assert r.status_code == 422
    officer = await login(api, world.officer_i.username)
    r = await api.put("/api/v1/booking/policy", json={"ip_read_per_minute": 1}, headers=officer)
    assert r.status_code == 403


async def test_booking_counts_endpoint(api, world, session, clock):
    clock.set(T0)
    enable(session, world.ktp, slot_capacity=5)
    codes = [(await book(api, world.ktp.id, wib(1, 8, 30))).json()["code"] for _ in range(3)]
    await api.post(f"/api/v1/bookings/{codes[0]}/cancel")
    clock.set(T0 + timedelta(minutes=35))
    await api.post(f"/api/v1/bookings/{codes[1]}/check-in", headers=auth(world.kiosk_token))
    clock.set(T0 + timedelta(hours=2))  # 10:00: the 08:30 window has ended
    manager = await login(api, world.manager.username)
    r = await api.get("/api/v1/booking/counts", params={
        "site_id": world.site.id, "from": "2026-12-01", "to": "2026-12-01"}, headers=manager)
    assert r.status_code == 200, r.text
    assert r.json() == {"total": 3, "booked": 2, "pending": 0, "checked_in": 1, "late": 0,
                        "no_show": 1, "cancelled": 1}
    assert svc.booking_counts(session, world.site.id, T0.date(), T0.date(),
                              service_id=world.kk.id, now=clock())["total"] == 0


async def test_pages_render_in_both_languages(api, world):
    r = await api.get("/booking")
    assert r.status_code == 200 and "Antrean Online" in r.text and "UU No. 27 Tahun 2022" in r.text
    r = await api.get("/booking?lang=en")
    assert r.status_code == 200 and "Online booking" in r.text and "Book now" in r.text
    assert "Law No. 27 of 2022" in r.text and r.cookies.get("mpp_lang") == "en"
    # The scripts' strings arrive translated too.
    assert '"slots_left": "{n} left"' in r.text
    r = await api.get("/kiosk/checkin?lang=id")
    assert r.status_code == 200 and "Check-in antrean online" in r.text
    assert r.headers["cache-control"] == "no-store"
    r = await api.get("/booking?code=%3Cscript%3Ealert(1)%3C/script%3E")
    assert "<script>alert(1)" not in r.text


async def test_housekeeping_job_marks_no_shows(api, app, world, session, clock):
    from app.jobs import housekeeping

    clock.set(T0)
    enable(session, world.ktp)
    code = (await book(api, world.ktp.id, wib(1, 9))).json()["code"]
    assert housekeeping(app) == {"no_shows": 0}
    clock.set(T0 + timedelta(hours=1, minutes=30))  # 09:30: the window has ended
    assert housekeeping(app) == {"no_shows": 1}
    assert (await api.get(f"/api/v1/bookings/{code}")).json()["status"] == "no_show"
    r = await api.post(f"/api/v1/bookings/{code}/cancel")
    assert r.status_code == 409 and r.json()["error"]["code"] == "booking_state"
