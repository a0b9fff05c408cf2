"""Opening hours: validation messages, is_open, next_opening, closing_time."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.domain.errors import InvalidValue
from app.domain.hours import (
    closing_time,
    is_open,
    next_opening,
    ranges_on,
    validate_opening_hours,
)

WIB = ZoneInfo("Asia/Jakarta")
# Jakarta-style: Mon-Thu 07:30-16:00, Friday with a Jumatan break and longer close, Sat half day.
HOURS = {
    "mon": [["07:30", "16:00"]],
    "tue": [["07:30", "16:00"]],
    "wed": [["07:30", "16:00"]],
    "thu": [["07:30", "16:00"]],
    "fri": [["07:30", "11:30"], ["13:00", "16:30"]],
    "sat": [["07:30", "12:00"]],
}
# 2025-03-03 is a Monday.
MON, FRI, SAT, SUN = date(2025, 3, 3), date(2025, 3, 7), date(2025, 3, 8), date(2025, 3, 9)


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=WIB)


def test_validate_normalises_order() -> None:
    raw = {"sat": [["07:30", "12:00"]], "fri": [("13:00", "16:30"), ["07:30", "11:30"]]}
    result = validate_opening_hours(raw)
    assert result == {"fri": [["07:30", "11:30"], ["13:00", "16:30"]], "sat": [["07:30", "12:00"]]}
    assert list(result) == ["fri", "sat"]


def test_validate_none_and_empty() -> None:
    assert validate_opening_hours(None) is None
    assert validate_opening_hours({}) == {}
    assert validate_opening_hours({"sun": []}) == {"sun": []}
    assert validate_opening_hours(HOURS) == HOURS


def test_touching_ranges_are_allowed() -> None:
    hours = {"mon": [["08:00", "12:00"], ["12:00", "13:00"]]}
    assert validate_opening_hours(hours) == hours


@pytest.mark.parametrize(
    ("hours", "reason_id", "reason_en"),
    [
        ({"mon": [["16:00", "07:30"]]}, "Senin: jam tutup harus setelah jam buka",
         "mon: closing time must be after opening time"),
        ({"fri": [["08:00", "08:00"]]}, "Jumat: jam tutup harus setelah jam buka",
         "fri: closing time must be after opening time"),
        ({"tue": [["7:30", "16:00"]]}, "Selasa: jam '7:30' tidak valid",
         "tue: invalid time '7:30'"),
        ({"wed": [["07:30", "24:00"]]}, "Rabu: jam '24:00' tidak valid",
         "wed: invalid time '24:00'"),
        ({"thu": [["07:60", "16:00"]]}, "Kamis: jam '07:60' tidak valid",
         "thu: invalid time '07:60'"),
        ({"sat": [[730, "16:00"]]}, "Sabtu: jam '730' tidak valid", "sat: invalid time '730'"),
        ({"monday": [["07:30", "16:00"]]}, "hari 'monday' tidak dikenal", "unknown day 'monday'"),
        ({"sun": "07:30-16:00"}, "Minggu: harus berupa daftar", "sun: must be a list"),
        ({"mon": [["07:30"]]}, "Senin: setiap rentang harus berisi tepat [buka, tutup]",
         "mon: each range must be exactly [open, close]"),
        ({"mon": [["07:30", "12:00"], ["11:00", "16:00"]]},
         "Senin: rentang 07:30-12:00 dan 11:00-16:00 tumpang tindih",
         "mon: ranges 07:30-12:00 and 11:00-16:00 overlap"),
        ([["07:30", "16:00"]], "harus berupa objek", "must be an object"),
        ("24/7", "harus berupa objek", "must be an object"),
    ],
)  # fmt: skip
def test_validation_messages(hours: object, reason_id: str, reason_en: str) -> None:
    with pytest.raises(InvalidValue) as info:
        validate_opening_hours(hours)
    err = info.value
    assert err.params["field"] == "opening_hours"
    assert reason_id in err.message("id"), err.message("id")
    assert reason_en in err.message("en"), err.message("en")


@pytest.mark.parametrize(
    ("dt", "expected"),
    [
        (at(MON, 7, 29), False),
        (at(MON, 7, 30), True),
        (at(MON, 15, 59), True),
        (at(MON, 16, 0), False),  # close is exclusive
        (at(FRI, 12, 0), False),  # Friday prayer break
        (at(FRI, 13, 0), True),
        (at(FRI, 16, 15), True),  # Friday closes later
        (at(SAT, 11, 59), True),
        (at(SAT, 12, 0), False),
        (at(SUN, 10, 0), False),  # missing day = closed
    ],
)
def test_is_open(dt: datetime, expected: bool) -> None:
    assert is_open(HOURS, dt) is expected


def test_none_means_always_open() -> None:
    assert is_open(None, at(SUN, 3, 0))
    assert ranges_on(None, SUN) == [(time.min, time.max)]
    assert next_opening(None, at(SUN, 3, 0)) is None
    assert closing_time(None, at(SUN, 3, 0)) is None


def test_special_day_overrides() -> None:
    ramadan = {MON: [(time(8, 0), time(14, 0))]}
    assert not is_open(HOURS, at(MON, 7, 45), ramadan)
    assert is_open(HOURS, at(MON, 13, 59), ramadan)
    assert not is_open(HOURS, at(MON, 14, 0), ramadan)
    assert closing_time(HOURS, at(MON, 9, 0), ramadan) == at(MON, 14, 0)
    holiday = {MON: []}
    assert not is_open(HOURS, at(MON, 9, 0), holiday)
    assert ranges_on(HOURS, MON, holiday) == []
    # A holiday closes even a site that is otherwise always open.
    assert not is_open(None, at(MON, 9, 0), holiday)


def test_next_opening_same_day_and_now() -> None:
    assert next_opening(HOURS, at(MON, 6, 0)) == at(MON, 7, 30)
    assert next_opening(HOURS, at(MON, 9, 0)) == at(MON, 9, 0)  # open now
    assert next_opening(HOURS, at(FRI, 12, 0)) == at(FRI, 13, 0)  # after the Friday break


def test_next_opening_across_days() -> None:
    assert next_opening(HOURS, at(MON, 16, 0)) == at(date(2025, 3, 4), 7, 30)
    assert next_opening(HOURS, at(SAT, 12, 0)) == at(date(2025, 3, 10), 7, 30)  # over Sunday
    result = next_opening(HOURS, at(SUN, 23, 59))
    assert result == at(date(2025, 3, 10), 7, 30)
    assert result is not None and result.tzinfo is WIB


def test_next_opening_skips_holidays_and_uses_special_hours() -> None:
    # Idul Fitri week: cuti bersama Mon-Wed, Thursday with short hours.
    special = {
        date(2025, 3, 10): [],
        date(2025, 3, 11): [],
        date(2025, 3, 12): [],
        date(2025, 3, 13): [(time(9, 0), time(12, 0))],
    }
    assert next_opening(HOURS, at(SAT, 13, 0), special) == at(date(2025, 3, 13), 9, 0)
    # A special opening on a normally closed Sunday.
    assert next_opening(HOURS, at(SAT, 13, 0), {SUN: [(time(8, 0), time(10, 0))]}) == at(SUN, 8)


def test_next_opening_horizon() -> None:
    closed = {MON + timedelta(days=i): [] for i in range(30)}
    assert next_opening(HOURS, at(MON, 6, 0), closed) is None
    assert next_opening({}, at(MON, 6, 0)) is None
    assert next_opening(HOURS, at(SAT, 13, 0), horizon_days=1) is None
    assert next_opening(HOURS, at(SAT, 13, 0), horizon_days=2) == at(date(2025, 3, 10), 7, 30)


def test_closing_time() -> None:
    assert closing_time(HOURS, at(MON, 9, 0)) == at(MON, 16, 0)
    assert closing_time(HOURS, at(FRI, 9, 0)) == at(FRI, 11, 30)
    assert closing_time(HOURS, at(FRI, 14, 0)) == at(FRI, 16, 30)
    assert closing_time(HOURS, at(FRI, 12, 0)) is None
    assert closing_time(HOURS, at(SUN, 9, 0)) is None
    # Touching ranges: service does not stop at 12:00.
    joined = {"mon": [["08:00", "12:00"], ["12:00", "13:00"]]}
    assert closing_time(joined, at(MON, 9, 0)) == at(MON, 13, 0)
