"""Ticket numbers ("A-007"), prefixes, time zones and the site's service day."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.domain.errors import InvalidValue

# A number is the prefix, this separator and the day's sequence padded to this many digits. The
# PostgreSQL store renders the same two parameters in SQL (it numbers under the day's row lock).
SEPARATOR = "-"
MIN_DIGITS = 3
_NUMBER_RE = re.compile(r"^([A-Z]{1,3})-(\d{3,})$")
_PREFIX_RE = re.compile(r"^[A-Z]{1,3}$")


def format_number(prefix: str, seq: int) -> str:
    """Display form of a ticket: prefix, dash, sequence zero-padded to three digits."""
    if seq < 0:
        raise ValueError(f"sequence must be >= 0, got {seq}")
    return f"{prefix}{SEPARATOR}{seq:0{MIN_DIGITS}d}"


def parse_number(number: str) -> tuple[str, int]:
    """Inverse of format_number: "A-007" -> ("A", 7); ValueError on anything else."""
    match = _NUMBER_RE.match(number.strip())
    if match is None:
        raise ValueError(f"not a ticket number: {number!r}")
    return match.group(1), int(match.group(2))


def service_day(now: datetime, tz_name: str) -> date:
    """The site's local calendar date; numbering restarts on it, so it must follow the site's
    own zone (WIB/WITA/WIT), not the server's."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(ZoneInfo(tz_name)).date()


def validate_prefix(prefix: str) -> str:
    """1-3 uppercase ASCII letters without I and O (they read as 1 and 0 on screens)."""
    if not isinstance(prefix, str) or not _PREFIX_RE.match(prefix):
        raise InvalidValue(
            "prefix",
            "harus 1-3 huruf kapital A-Z",
            "must be 1-3 uppercase letters A-Z",
        )
    if "I" in prefix or "O" in prefix:
        raise InvalidValue(
            "prefix",
            "jangan memakai huruf I atau O (mirip angka 1 dan 0)",
            "must not contain I or O (they look like 1 and 0)",
        )
    return prefix


def validate_timezone(name: str) -> str:
    """An IANA zone name that zoneinfo can load, e.g. "Asia/Jakarta"."""
    try:
        if not isinstance(name, str) or not name.strip():
            raise ValueError("empty")
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        raise InvalidValue(
            "timezone",
            f"zona waktu '{name}' tidak dikenal (contoh: Asia/Jakarta)",
            f"unknown time zone '{name}' (e.g. Asia/Jakarta)",
        ) from None
    return name
