"""SKM reporting periods: quarters, semesters and years (PermenPANRB 14/2017 asks for at least
one survey a year; many units publish per quarter or semester)."""

from __future__ import annotations

from datetime import date, timedelta

from app.domain.errors import InvalidValue

KINDS = ("quarter", "semester", "year")
_MONTHS = {"quarter": 3, "semester": 6, "year": 12}


def bounds(kind: str, ref: date) -> tuple[date, date]:
    """First and last day (inclusive) of the period of `kind` containing `ref`."""
    if kind not in _MONTHS:
        raise InvalidValue("period", "harus quarter, semester atau year",
                           "must be quarter, semester or year")
    months = _MONTHS[kind]
    first_month = months * ((ref.month - 1) // months) + 1
    first = date(ref.year, first_month, 1)
    nxt_month = first_month + months
    nxt = date(ref.year + (nxt_month - 1) // 12, (nxt_month - 1) % 12 + 1, 1)
    return first, nxt - timedelta(days=1)


def series(kind: str, ref: date, count: int) -> list[tuple[date, date]]:
    """The `count` periods up to and including the one containing `ref`, oldest first."""
    out = [bounds(kind, ref)]
    while len(out) < count:
        out.append(bounds(kind, out[-1][0] - timedelta(days=1)))
    return out[::-1]


def label(kind: str, start: date) -> str:
    """'TW III 2026', 'Semester 2 2026', '2026' (Indonesian report usage)."""
    if kind == "quarter":
        return f"TW {('I', 'II', 'III', 'IV')[(start.month - 1) // 3]} {start.year}"
    if kind == "semester":
        return f"Semester {1 if start.month <= 6 else 2} {start.year}"
    return str(start.year)
