"""Waiting-time estimates."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.waiting import average_service_minutes, estimate_wait_minutes, wait_range


def test_average_falls_back_to_typical() -> None:
    assert average_service_minutes([], 8) == 8.0
    assert average_service_minutes([5, 6, 7, 8], 10) == 10.0  # 4 < 5 samples
    # Junk durations do not count as samples.
    assert average_service_minutes([5, 6, 7, 0, -3, 500], 10) == 10.0


def test_average_is_median_of_plausible() -> None:
    assert average_service_minutes([5, 6, 7, 8, 9], 10) == 7.0
    assert average_service_minutes([5, 6, 7, 8, 9, 600], 10) == 7.0  # 600 ignored
    assert average_service_minutes([4, 5, 6, 7, 8, 230], 10) == 6.5  # 230 kept
    assert average_service_minutes([5, 6, 7], 10, min_samples=3) == 6.0


@pytest.mark.parametrize(
    ("ahead", "counters", "avg", "expected"),
    [
        (0, 3, 10, 0),
        (1, 1, 10, 10),
        (10, 2, 7, 35),
        (10, 3, 7, 24),  # 23.33 rounds up
        (5, 0, 8, 40),  # no counter open: assume one
        (3, 1, 7.1, 22),  # 21.3 without float noise
        (10, 1, 7.1, 71),  # exactly 71, not 72
        (4, 4, 2.5, 3),
    ],
)
def test_estimate(ahead: int, counters: int, avg: float, expected: int) -> None:
    assert estimate_wait_minutes(ahead, counters, avg) == expected


def test_estimate_rejects_negative() -> None:
    with pytest.raises(ValueError):
        estimate_wait_minutes(-1, 1, 5)


@pytest.mark.parametrize(
    ("est", "expected"),
    [(0, (0, 0)), (1, (0, 2)), (5, (4, 7)), (10, (8, 13)), (30, (24, 39)), (47, (37, 62))],
)
def test_wait_range(est: int, expected: tuple[int, int]) -> None:
    assert wait_range(est) == expected


@given(st.integers(min_value=0, max_value=100_000))
def test_wait_range_brackets_estimate(est: int) -> None:
    lo, hi = wait_range(est)
    assert lo <= est <= hi
    assert lo * 10 <= est * 8 < (lo + 1) * 10
    assert (hi - 1) * 10 < est * 13 <= hi * 10 or est == 0
