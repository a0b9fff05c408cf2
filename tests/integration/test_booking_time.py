"""Booking and time: check-in windows, early and late arrivals, holidays, the site's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.db.models import Booking, ServiceDay, SpecialDay, Ticket
from app.domain.errors import DomainError
from app.services import booking as svc
from app.services.context import Ctx, Principal
from app.services.mallfile import SYSTEM
from tests.support.world import build_world

HOURS = {d: [["08:00", "12:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
# Tuesday 1 December 2026, 08:00 WIB (UTC+7).
T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


def at(hh: int, mm: int = 0, *, offset: int = 7, day: int = 1) -> datetime:
    """A wall-clock time on 2026-12-<day> in a zone UTC+offset, as a UTC datetime."""
    return datetime(2026, 12, day, hh, mm, tzinfo=UTC) - timedelta(hours=offset)


def enable(session, service, **kw):
    service.booking_enabled = True
    service.opening_hours = kw.pop("opening_hours", HOURS)
    for k, v in kw.items():
        setattr(service, k, v)
    session.flush()


def kiosk_ctx(session, world, now: datetime) -> Ctx:
    actor = Principal(kind="device", id=world.kiosk.id, role="kiosk", name="Kiosk",
                      site_id=world.site.id)
    return Ctx(session=session, now=now, actor=actor)


def make(session, world, service, start: datetime, now: datetime = T0) -> Booking:
    return svc.create_booking(Ctx(session=session, now=now), service_id=service.id,
                              slot_start=start)


def error_of(fn, *args, **kw) -> DomainError:
    with pytest.raises(DomainError) as info:
        fn(*args, **kw)
    return info.value


def test_check_in_window_opens_15_minutes_before_and_closes_at_slot_end(session, world):
    enable(session, world.ktp)
    b = make(session, world, world.ktp, at(9))
    err = error_of(svc.check_in, kiosk_ctx(session, world, at(8, 44)), b.code)
    assert err.code == "booking_too_early"
    assert "08.45" in err.message("id") and "08:45" in err.message("en")
    result = svc.check_in(kiosk_ctx(session, world, at(8, 45)), b.code)
    assert result.created and not result.late and b.status == "checked_in"
    assert result.ticket.channel == "booking" and result.ticket.booking_id == b.id
    assert result.ticket.sort_at == at(9) and result.ticket.issued_at == at(8, 45)
    # The last moment of the window is still in; the end itself is late.
    b2 = make(session, world, world.ktp, at(10))
    assert not svc.check_in(kiosk_ctx(session, world, at(10, 29, )), b2.code).late
    b3 = make(session, world, world.ktp, at(10))
    assert svc.check_in(kiosk_ctx(session, world, at(10, 30)), b3.code).late


def test_late_arrival_becomes_ordinary_walk_in(session, world):
    enable(session, world.ktp)
    b = make(session, world, world.ktp, at(9))
    result = svc.check_in(kiosk_ctx(session, world, at(9, 40)), b.code)
    assert result.late and b.status == "late" and b.ticket_id == result.ticket.id
    ticket = result.ticket
    # Ordinary: ordered by its own arrival, not the slot; not linked as a booking ticket.
    assert ticket.channel == "kiosk" and ticket.sort_at == at(9, 40) and ticket.booking_id is None
    assert "terlambat" in (ticket.note or "")


def test_late_arrival_refused_when_configured(session, world):
    enable(session, world.ktp)
    svc.set_policy(Ctx(session=session, now=T0, actor=SYSTEM), {"late_policy": "refuse"})
    b = make(session, world, world.ktp, at(9))
    err = error_of(svc.check_in, kiosk_ctx(session, world, at(9, 30)), b.code)
    assert err.code == "booking_expired" and "09.30" in err.message("id")
    assert session.scalar(sa.select(sa.func.count()).select_from(Ticket)) == 0


def test_grace_after_slot_end_is_configurable(session, world):
    enable(session, world.ktp)
    svc.set_policy(Ctx(session=session, now=T0, actor=SYSTEM),
                   {"checkin_after_minutes": 10, "checkin_before_minutes": 30})
    b = make(session, world, world.ktp, at(9))
    assert svc.check_in(kiosk_ctx(session, world, at(9, 39)), b.code).late is False
    b2 = make(session, world, world.ktp, at(10))
    assert svc.check_in(kiosk_ctx(session, world, at(9, 30)), b2.code).late is False
    with pytest.raises(DomainError, match="check-in opens at 09:30"):
        svc.check_in(kiosk_ctx(session, world, at(9, 29)), make(session, world, world.ktp,
                                                                 at(10)).code)


def test_no_show_after_window_releases_the_place(session, world):
    enable(session, world.paspor, slot_capacity=3)  # daily quota 30, 15 held for bookings
    b = make(session, world, world.paspor, at(9))
    kept = make(session, world, world.paspor, at(11))
    sd_key = {"service_id": world.paspor.id, "day": date(2026, 12, 1)}

    def service_day():
        return session.scalar(sa.select(ServiceDay).filter_by(**sd_key)
                              .execution_options(populate_existing=True))

    assert (service_day().quota_used, service_day().booked) == (2, 2)
    counts = svc.booking_counts(session, world.site.id, date(2026, 12, 1), date(2026, 12, 1),
                                now=at(9, 29))
    assert counts["pending"] == 2 and counts["no_show"] == 0
    assert svc.expire_no_shows(Ctx(session=session, now=at(9, 29))) == 0
    # Lazily a no-show the moment its window ends, before any job has run.
    counts = svc.booking_counts(session, world.site.id, date(2026, 12, 1), date(2026, 12, 1),
                                now=at(9, 30))
    assert counts["no_show"] == 1 and counts["pending"] == 1
    assert svc.expire_no_shows(Ctx(session=session, now=at(9, 30))) == 1
    assert svc.expire_no_shows(Ctx(session=session, now=at(9, 31))) == 0
    session.refresh(b)
    assert b.status == "no_show" and kept.status == "booked"
    assert (service_day().quota_used, service_day().booked) == (1, 1)


def test_holiday_and_special_hours(session, world):
    enable(session, world.ktp)
    session.add_all([
        SpecialDay(site_id=world.site.id, day=date(2026, 12, 2), ranges=[], note="Libur"),
        SpecialDay(site_id=world.site.id, day=date(2026, 12, 3), ranges=[["08:00", "10:00"]],
                   note="Setengah hari"),
    ])
    session.flush()
    slots, facts = svc.list_slots(session, world.ktp, date(2026, 12, 2), T0)
    assert slots == [] and facts["closed"] is True and facts["note"] == "Libur"
    err = error_of(make, session, world, world.ktp, at(9, day=2))
    assert err.code == "booking_not_allowed"
    slots, facts = svc.list_slots(session, world.ktp, date(2026, 12, 3), T0)
    assert [s.start.strftime("%H:%M") for s in slots] == ["08:00", "08:30", "09:00", "09:30"]
    assert error_of(make, session, world, world.ktp, at(10, day=3)).code == "booking_not_allowed"
    assert make(session, world, world.ktp, at(9, 30, day=3)).slot_end == at(10, day=3)


def test_days_ahead_and_past(session, world):
    enable(session, world.ktp, booking_days_ahead=2)
    assert make(session, world, world.ktp, at(9, day=3)).day == date(2026, 12, 3)
    assert error_of(make, session, world, world.ktp, at(9, day=4)).code == "booking_not_allowed"
    later = at(10, 5)
    err = error_of(make, session, world, world.ktp, at(10), later)
    assert err.code == "booking_not_allowed" and "started" in err.message("en")


def test_site_in_jayapura_uses_its_own_day_and_hours(session, clock):
    # 23:30 UTC on 30 November is already Tuesday 1 December, 08:30 WIT (UTC+9).
    now = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    world = build_world(session, now=now, site_code="mpp-jpr", timezone="Asia/Jayapura")
    enable(session, world.ktp)
    first, last = svc.booking_days(world.ktp, world.site, now)
    assert first == date(2026, 12, 1) and last == date(2026, 12, 8)
    slots, _ = svc.list_slots(session, world.ktp, date(2026, 12, 1), now)
    assert slots[0].start.isoformat() == "2026-12-01T08:00:00+09:00"
    assert [s.bookable for s in slots[:3]] == [False, False, True]
    b = make(session, world, world.ktp, datetime.fromisoformat("2026-12-01T09:00:00+09:00"), now)
    assert b.day == date(2026, 12, 1) and b.slot_start == at(9, offset=9)
    err = error_of(svc.check_in, kiosk_ctx(session, world, now), b.code)
    assert err.code == "booking_too_early" and "08.45" in err.message("id")
    result = svc.check_in(kiosk_ctx(session, world, at(8, 50, offset=9)), b.code)
    assert result.ticket.day == date(2026, 12, 1) and result.ticket.number == "A-001"
    # A slot given without an offset is read in the site's zone.
    b2 = make(session, world, world.ktp, datetime(2026, 12, 1, 10, 0), now)
    assert b2.slot_start == at(10, offset=9)
