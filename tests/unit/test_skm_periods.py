from datetime import date

import pytest

from app.domain.errors import DomainError
from app.domain.skm_periods import bounds, label, series


@pytest.mark.parametrize(("kind", "ref", "expected"), [
    ("quarter", date(2026, 11, 23), (date(2026, 10, 1), date(2026, 12, 31))),
    ("quarter", date(2026, 2, 28), (date(2026, 1, 1), date(2026, 3, 31))),
    ("semester", date(2026, 6, 30), (date(2026, 1, 1), date(2026, 6, 30))),
    ("semester", date(2026, 7, 1), (date(2026, 7, 1), date(2026, 12, 31))),
    ("year", date(2024, 2, 29), (date(2024, 1, 1), date(2024, 12, 31))),
])
def test_bounds(kind, ref, expected):
    assert bounds(kind, ref) == expected


def test_series_and_labels():
    s = series("quarter", date(2026, 2, 1), 4)
    assert [label("quarter", a) for a, _ in s] == ["TW II 2025", "TW III 2025", "TW IV 2025",
                                                   "TW I 2026"]
    assert all(b < n for (_, b), (n, _) in zip(s, s[1:], strict=False))
    assert label("semester", date(2026, 7, 1)) == "Semester 2 2026"
    with pytest.raises(DomainError):
        bounds("month", date(2026, 1, 1))
