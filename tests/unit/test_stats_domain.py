"""Pure report helpers: periods, IKM from SQL sums (same as from raw answers), time summaries."""

from __future__ import annotations

import statistics
from datetime import date
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.errors import DomainError
from app.domain.ikm import compute_ikm
from app.domain.reporting import (
    MAX_DAYS,
    check_range,
    duration_summary,
    ikm_from_sums,
    resolve_period,
    sample_status,
)


@pytest.mark.parametrize(("kind", "ref", "expected"), [
    ("today", date(2026, 11, 23), (date(2026, 11, 23), date(2026, 11, 23))),
    ("week", date(2026, 11, 26), (date(2026, 11, 23), date(2026, 11, 29))),
    ("month", date(2026, 2, 14), (date(2026, 2, 1), date(2026, 2, 28))),
    ("month", date(2028, 2, 29), (date(2028, 2, 1), date(2028, 2, 29))),
    ("month", date(2026, 12, 31), (date(2026, 12, 1), date(2026, 12, 31))),
    ("quarter", date(2026, 5, 20), (date(2026, 4, 1), date(2026, 6, 30))),
    ("quarter", date(2026, 11, 23), (date(2026, 10, 1), date(2026, 12, 31))),
    ("quarter", date(2026, 1, 1), (date(2026, 1, 1), date(2026, 3, 31))),
    ("semester", date(2026, 6, 30), (date(2026, 1, 1), date(2026, 6, 30))),
    ("semester", date(2026, 7, 1), (date(2026, 7, 1), date(2026, 12, 31))),
    ("year", date(2026, 7, 4), (date(2026, 1, 1), date(2026, 12, 31))),
])
def test_resolve_period(kind: str, ref: date, expected: tuple[date, date]) -> None:
    assert resolve_period(kind, ref) == expected


def test_range_rules() -> None:
    assert resolve_period("range", date(2026, 1, 1), date(2026, 1, 5), date(2026, 1, 9)) == (
        date(2026, 1, 5), date(2026, 1, 9))
    with pytest.raises(DomainError):
        check_range(date(2026, 1, 9), date(2026, 1, 5))
    with pytest.raises(DomainError):
        check_range(date(2024, 1, 1), date(2024, 1, 1).replace(year=2026))
    start = date(2025, 1, 1)
    assert check_range(start, date.fromordinal(start.toordinal() + MAX_DAYS - 1))
    with pytest.raises(DomainError):
        resolve_period("fortnight", start)


def test_ikm_from_sums_hand_computed() -> None:
    # 3 respondents; sums 10,11,9,12,9,10,11,7,9 = 88 -> 88/27*25 = 81.4814... -> 81.48, B.
    r = ikm_from_sums([10, 11, 9, 12, 9, 10, 11, 7, 9], 3)
    assert (r.ikm, r.mutu, r.kinerja) == (81.48, "B", "Baik")
    # The 0.11 trap: weights of 0.11 each do not add up to 1 and are refused.
    with pytest.raises(DomainError):
        ikm_from_sums([10] * 9, 3, [0.11] * 9)
    assert ikm_from_sums([0] * 9, 0).mutu == "-"
    with pytest.raises(DomainError):
        ikm_from_sums([13] * 9, 3)  # an average above 4 cannot come from 1-4 answers


@pytest.mark.parametrize(("total", "n", "ikm", "mutu"), [
    # T = sum of all 9 x n answers; IKM = T / (9 n) x 25, rounded half-up, then graded.
    (23396, 1000, 64.99, "D"),
    (23399, 1000, 65.00, "C"),  # 64.9972 rounds up to 65.00 first
    (23400, 1000, 65.00, "C"),
    (27576, 1000, 76.60, "C"),
    (27580, 1000, 76.61, "B"),
    (31788, 1000, 88.30, "B"),
    (31792, 1000, 88.31, "A"),
])
def test_ikm_from_sums_grade_boundaries(total: int, n: int, ikm: float, mutu: str) -> None:
    base, extra = divmod(total, 9)
    sums = [base + (1 if i < extra else 0) for i in range(9)]
    r = ikm_from_sums(sums, n)
    assert r.ikm == ikm and r.mutu == mutu


answers = st.lists(st.lists(st.integers(1, 4), min_size=9, max_size=9), min_size=1,
                   max_size=40)
weights = st.sampled_from([None, ["1/4", "1/4", "1/8", "1/8", "1/16", "1/16", "1/16", "1/16",
                                  "0"]])


@given(answers, weights)
def test_ikm_from_sums_equals_compute_ikm(rows: list[list[int]], w: list[str] | None) -> None:
    fw = None if w is None else [Fraction(x) for x in w]
    sums = [sum(r[i] for r in rows) for i in range(9)]
    assert ikm_from_sums(sums, len(rows), fw) == compute_ikm(rows, fw)


def test_sample_status() -> None:
    assert sample_status(300, 1000) == {"respondents": 300, "population": 1000,
                                        "minimum": 278, "reached": True}
    assert sample_status(200, 500)["reached"] is False
    assert sample_status(0, 0)["reached"] is True


@given(st.lists(st.integers(0, 7200), min_size=2, max_size=60))
def test_duration_summary_matches_statistics(values: list[int]) -> None:
    s = duration_summary(values)
    assert s["count"] == len(values)
    assert s["mean"] == pytest.approx(statistics.fmean(values), abs=0.051)
    assert s["median"] == pytest.approx(statistics.median(values), abs=0.051)
    p90 = statistics.quantiles(values, n=10, method="inclusive")[8]
    assert s["p90"] == pytest.approx(p90, abs=0.051)
    assert duration_summary([])["median"] is None
