"""Opening hours per weekday plus special days (holidays, cuti bersama, Ramadan hours).

Format: ``{"mon": [["07:30", "16:00"]], ...}``; a missing day is closed; ``None`` means open
at all hours. All datetimes here are local to the site's zone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta

from app.domain.errors import InvalidValue

DAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES_ID: dict[str, str] = {
    "mon": "Senin",
    "tue": "Selasa",
    "wed": "Rabu",
    "thu": "Kamis",
    "fri": "Jumat",
    "sat": "Sabtu",
    "sun": "Minggu",
}

OpeningHours = Mapping[str, list[list[str]]] | None
SpecialDays = Mapping[date, list[tuple[time, time]]]

_HHMM_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_FIELD = "opening_hours"


def _fail(reason_id: str, reason_en: str) -> InvalidValue:
    return InvalidValue(_FIELD, reason_id, reason_en)


def _parse_hhmm(value: object, day: str) -> time:
    if not isinstance(value, str) or not _HHMM_RE.match(value):
        raise _fail(
            f"{DAY_NAMES_ID[day]}: jam '{value}' tidak valid (format HH:MM, 00:00-23:59)",
            f"{day}: invalid time '{value}' (use HH:MM, 00:00-23:59)",
        )
    hh, mm = value.split(":")
    return time(int(hh), int(mm))


def validate_opening_hours(hours: object) -> dict[str, list[list[str]]] | None:
    """Check and normalise opening hours; raise InvalidValue with a precise bilingual reason.

    Normalised form: days in mon..sun order, each day's ranges sorted by opening time.
    """
    if hours is None:
        return None
    if not isinstance(hours, Mapping):
        raise _fail(
            "harus berupa objek per hari (mon..sun) atau kosong untuk buka 24 jam",
            "must be an object keyed by day (mon..sun), or null for always open",
        )
    for key in hours:
        if key not in DAYS:
            raise _fail(
                f"hari '{key}' tidak dikenal (gunakan mon..sun)",
                f"unknown day '{key}' (use mon..sun)",
            )
    result: dict[str, list[list[str]]] = {}
    for day in DAYS:
        if day not in hours:
            continue
        name = DAY_NAMES_ID[day]
        raw = hours[day]
        if not isinstance(raw, list | tuple):
            raise _fail(
                f"{name}: harus berupa daftar rentang jam [buka, tutup]",
                f"{day}: must be a list of [open, close] ranges",
            )
        parsed: list[tuple[time, time, str, str]] = []
        for rng in raw:
            if not isinstance(rng, list | tuple) or len(rng) != 2:
                raise _fail(
                    f"{name}: setiap rentang harus berisi tepat [buka, tutup]",
                    f"{day}: each range must be exactly [open, close]",
                )
            opens, closes = _parse_hhmm(rng[0], day), _parse_hhmm(rng[1], day)
            if closes <= opens:
                raise _fail(
                    f"{name}: jam tutup harus setelah jam buka ({rng[0]}-{rng[1]})",
                    f"{day}: closing time must be after opening time ({rng[0]}-{rng[1]})",
                )
            parsed.append((opens, closes, rng[0], rng[1]))
        parsed.sort()
        for prev, cur in zip(parsed, parsed[1:], strict=False):
            # Touching ranges (12:00 close, 12:00 open) are fine; only real overlap is an error.
            if cur[0] < prev[1]:
                raise _fail(
                    f"{name}: rentang {prev[2]}-{prev[3]} dan {cur[2]}-{cur[3]} tumpang tindih",
                    f"{day}: ranges {prev[2]}-{prev[3]} and {cur[2]}-{cur[3]} overlap",
                )
        result[day] = [[p[2], p[3]] for p in parsed]
    return result


def _merge(ranges: list[tuple[time, time]]) -> list[tuple[time, time]]:
    """Sort and join touching/overlapping ranges so "closing time" means service really stops."""
    merged: list[tuple[time, time]] = []
    for opens, closes in sorted(ranges):
        if merged and opens <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], closes))
        else:
            merged.append((opens, closes))
    return merged


def ranges_on(
    hours: OpeningHours, day: date, special: SpecialDays | None = None
) -> list[tuple[time, time]]:
    """Open ranges on `day`, sorted and merged. A special day replaces the weekly hours (an
    empty list = closed all day). With ``hours=None`` a normal day is one range
    ``(time.min, time.max)``, which is_open treats as the whole day."""
    if special is not None and day in special:
        return _merge(list(special[day]))
    if hours is None:
        return [(time.min, time.max)]
    key = DAYS[day.weekday()]
    return _merge([(_parse_hhmm(o, key), _parse_hhmm(c, key)) for o, c in hours.get(key, [])])


def _always_open(hours: OpeningHours, day: date, special: SpecialDays | None) -> bool:
    return hours is None and not (special is not None and day in special)


def is_open(hours: OpeningHours, local_dt: datetime, special: SpecialDays | None = None) -> bool:
    """True when some range of that day has open <= t < close."""
    day = local_dt.date()
    if _always_open(hours, day, special):
        return True
    t = local_dt.time().replace(tzinfo=None)
    return any(o <= t < c for o, c in ranges_on(hours, day, special))


def next_opening(
    hours: OpeningHours,
    local_dt: datetime,
    special: SpecialDays | None = None,
    horizon_days: int = 14,
) -> datetime | None:
    """The first moment >= local_dt when the service is open (local_dt itself if open now).

    None when hours is None (no schedule to announce) or nothing opens within horizon_days.
    """
    if hours is None:
        return None
    t = local_dt.time().replace(tzinfo=None)
    for offset in range(horizon_days + 1):
        day = local_dt.date() + timedelta(days=offset)
        for opens, closes in ranges_on(hours, day, special):
            if offset == 0:
                if opens <= t < closes:
                    return local_dt
                if opens < t:
                    continue
            return datetime.combine(day, opens, tzinfo=local_dt.tzinfo)
    return None


def closing_time(
    hours: OpeningHours, local_dt: datetime, special: SpecialDays | None = None
) -> datetime | None:
    """End of the open range containing local_dt; None when closed or open round the clock."""
    day = local_dt.date()
    if _always_open(hours, day, special):
        return None
    t = local_dt.time().replace(tzinfo=None)
    for opens, closes in ranges_on(hours, day, special):
        if opens <= t < closes:
            return datetime.combine(day, closes, tzinfo=local_dt.tzinfo)
    return None
