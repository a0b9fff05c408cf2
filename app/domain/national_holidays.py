"""Indonesia's national holidays and cuti bersama for a year, from the `holidays` package.

The package follows the government's joint decree (SKB) each year; dates of lunar holidays
far ahead are estimates, which is why an admin refreshes next year's list once it is out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import holidays

LIBUR_NASIONAL = "libur_nasional"
CUTI_BERSAMA = "cuti_bersama"
KINDS = (LIBUR_NASIONAL, CUTI_BERSAMA)


@dataclass(frozen=True)
class Holiday:
    day: date
    name: str  # Indonesian, as the decree names it
    kind: str  # LIBUR_NASIONAL or CUTI_BERSAMA


def for_year(year: int) -> list[Holiday]:
    """Public holidays and cuti bersama of `year`, by date; one entry per date."""
    if not 1990 <= year <= 2100:
        raise ValueError("year out of range")
    public = holidays.country_holidays("ID", years=year, language="id", categories=("public",))
    joint = holidays.country_holidays("ID", years=year, language="id",
                                      categories=("government",))
    out: dict[date, Holiday] = {}
    for day, name in joint.items():
        out[day] = Holiday(day, str(name), CUTI_BERSAMA)
    for day, name in public.items():  # a public holiday wins over a joint one on the same date
        out[day] = Holiday(day, str(name), LIBUR_NASIONAL)
    return [out[d] for d in sorted(out)]
