"""Pure helpers for statistics and SKM reports: report periods and IKM from SQL sums."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, timedelta
from fractions import Fraction

from app.domain import skm_periods
from app.domain.errors import InvalidValue
from app.domain.ikm import (
    DEFAULT_WEIGHTS,
    N_UNSUR,
    IkmResult,
    grade,
    krejcie_morgan,
    percentile,
    validate_weights,
)

PERIODS = ("today", "day", "week", "month", "quarter", "semester", "year", "range")
# A report may span at most this many days, so one request has a bounded cost.
MAX_DAYS = 731


def resolve_period(kind: str, ref: date, start: date | None = None, end: date | None = None
                   ) -> tuple[date, date]:
    """(first day, last day), both inclusive, of the period of `kind` that contains `ref`."""
    if kind in ("today", "day"):
        return ref, ref
    if kind == "week":
        first = ref - timedelta(days=ref.weekday())
        return first, first + timedelta(days=6)
    if kind == "month":
        first = ref.replace(day=1)
        nxt = (first + timedelta(days=32)).replace(day=1)
        return first, nxt - timedelta(days=1)
    if kind in skm_periods.KINDS:  # quarter, semester, year: one definition for SKM too
        return skm_periods.bounds(kind, ref)
    if kind == "range":
        return check_range(start or ref, end or start or ref)
    raise InvalidValue("period", "periode tidak dikenal", "unknown period")


def check_range(start: date, end: date) -> tuple[date, date]:
    """Validate an inclusive date range: ordered and at most MAX_DAYS long."""
    if end < start:
        raise InvalidValue("to", "tanggal akhir sebelum tanggal awal", "end date before start")
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidValue("to", f"rentang paling lama {MAX_DAYS} hari",
                           f"the range may span at most {MAX_DAYS} days")
    return start, end


def _round_half_up(value: Fraction, places: int) -> float:
    scale = 10**places
    return math.floor(value * scale + Fraction(1, 2)) / scale


def ikm_from_sums(sums: Sequence[int], respondents: int,
                  weights: Sequence[Fraction | float | str] | None = None) -> IkmResult:
    """The IKM of ikm.compute_ikm, from per-unsur score sums computed in SQL."""
    if len(sums) != N_UNSUR:
        raise InvalidValue("sums", f"harus ada {N_UNSUR} jumlah", f"{N_UNSUR} sums are required")
    w = DEFAULT_WEIGHTS if weights is None else validate_weights(weights)
    if respondents <= 0:
        return IkmResult(0, [0.0] * N_UNSUR, 0.0, 0.0, "-", "-")
    nrr = [Fraction(int(s), respondents) for s in sums]
    if any(not 1 <= v <= 4 for v in nrr):
        raise InvalidValue("sums", "jumlah nilai di luar 1-4", "score sums outside 1-4")
    ikm_nrr = sum((v * wi for v, wi in zip(nrr, w, strict=True)), Fraction(0))
    ikm = _round_half_up(ikm_nrr * 25, 2)
    mutu, kinerja = grade(ikm)
    return IkmResult(respondents, [float(v) for v in nrr], float(ikm_nrr), ikm, mutu, kinerja)


def sample_status(respondents: int, population: int) -> dict[str, int | bool]:
    """Respondents against the Krejcie & Morgan minimum for the period's service users."""
    minimum = krejcie_morgan(population)
    return {"respondents": respondents, "population": population, "minimum": minimum,
            "reached": respondents >= minimum}


def duration_summary(values: Sequence[float]) -> dict[str, float | int | None]:
    """Count, mean, median and p90 in seconds (percentile_cont semantics), rounded to 0.1 s."""
    if not values:
        return {"count": 0, "mean": None, "median": None, "p90": None}
    med = percentile(values, 0.5)
    p90 = percentile(values, 0.9)
    return {"count": len(values), "mean": round(sum(values) / len(values), 1),
            "median": None if med is None else round(med, 1),
            "p90": None if p90 is None else round(p90, 1)}
