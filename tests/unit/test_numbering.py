"""Ticket numbers, prefixes, zones and the service day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.errors import InvalidValue
from app.domain.numbering import (
    format_number,
    parse_number,
    service_day,
    validate_prefix,
    validate_timezone,
)

prefixes = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ", min_size=1, max_size=3)


@pytest.mark.parametrize(
    ("prefix", "seq", "expected"),
    [("A", 7, "A-007"), ("A", 123, "A-123"), ("B", 1000, "B-1000"), ("AB", 0, "AB-000")],
)
def test_format_number(prefix: str, seq: int, expected: str) -> None:
    assert format_number(prefix, seq) == expected
    assert parse_number(expected) == (prefix, seq)


@given(prefixes, st.integers(min_value=0, max_value=10**7))
def test_round_trip(prefix: str, seq: int) -> None:
    assert parse_number(format_number(prefix, seq)) == (prefix, seq)


@pytest.mark.parametrize(
    "bad", ["", "A", "A-", "-123", "A123", "a-123", "ABCD-001", "A-12", "A-1x"]
)
def test_parse_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_number(bad)


def test_format_rejects_negative() -> None:
    with pytest.raises(ValueError):
        format_number("A", -1)


# 2024-05-01 16:30 UTC = 23:30 WIB (UTC+7) = 01:30 WIT (UTC+9) the next day.
@pytest.mark.parametrize(
    ("utc", "zone", "expected"),
    [
        (datetime(2024, 5, 1, 16, 30, tzinfo=UTC), "UTC", date(2024, 5, 1)),
        (datetime(2024, 5, 1, 16, 30, tzinfo=UTC), "Asia/Jakarta", date(2024, 5, 1)),
        (datetime(2024, 5, 1, 16, 30, tzinfo=UTC), "Asia/Makassar", date(2024, 5, 2)),
        (datetime(2024, 5, 1, 16, 30, tzinfo=UTC), "Asia/Jayapura", date(2024, 5, 2)),
        (datetime(2024, 5, 1, 17, 0, tzinfo=UTC), "Asia/Jakarta", date(2024, 5, 2)),
        (datetime(2024, 5, 1, 16, 59, 59, tzinfo=UTC), "Asia/Jakarta", date(2024, 5, 1)),
        (datetime(2024, 5, 1, 14, 59, tzinfo=UTC), "Asia/Jayapura", date(2024, 5, 1)),
        (datetime(2024, 5, 1, 15, 0, tzinfo=UTC), "Asia/Jayapura", date(2024, 5, 2)),
        # Early morning WIT is still the previous UTC day.
        (datetime(2024, 5, 2, 7, 0, tzinfo=timezone(timedelta(hours=9))), "UTC", date(2024, 5, 1)),
    ],
)
def test_service_day(utc: datetime, zone: str, expected: date) -> None:
    assert service_day(utc, zone) == expected


def test_service_day_requires_aware() -> None:
    with pytest.raises(ValueError):
        service_day(datetime(2024, 5, 1, 12, 0), "Asia/Jakarta")


@pytest.mark.parametrize("prefix", ["A", "B", "AB", "XYZ", "Z"])
def test_valid_prefix(prefix: str) -> None:
    assert validate_prefix(prefix) == prefix


@pytest.mark.parametrize("prefix", ["", "a", "ABCD", "A1", "1", "I", "O", "AI", "BOX", "É", " A"])
def test_invalid_prefix(prefix: str) -> None:
    with pytest.raises(InvalidValue) as info:
        validate_prefix(prefix)
    assert info.value.params["field"] == "prefix"
    assert info.value.status == 422


def test_prefix_i_o_message_explains() -> None:
    with pytest.raises(InvalidValue) as info:
        validate_prefix("O")
    assert "I atau O" in info.value.message("id")
    assert "I or O" in info.value.message("en")


@pytest.mark.parametrize("name", ["Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura", "UTC"])
def test_valid_timezone(name: str) -> None:
    assert validate_timezone(name) == name


@pytest.mark.parametrize("name", ["", "WIB", "Asia/Bandung", "../etc/passwd", "+07:00", "  "])
def test_invalid_timezone(name: str) -> None:
    with pytest.raises(InvalidValue) as info:
        validate_timezone(name)
    assert info.value.params["field"] == "timezone"
