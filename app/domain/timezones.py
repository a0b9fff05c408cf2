"""Indonesia's three time zones and the warning for a site configured outside them.

A site's zone may be any IANA name (an MPP abroad is conceivable, and tests use others), but
a typo such as "Asia/Singapore" for Batam shifts every ticket's day and number an hour; admins
are told, not refused.
"""

from __future__ import annotations

from dataclasses import dataclass

# IANA zones that keep Indonesian time. Asia/Pontianak is WIB, like Asia/Jakarta.
INDONESIAN_ZONES: dict[str, str] = {
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Makassar": "WITA",
    "Asia/Jayapura": "WIT",
}


@dataclass(frozen=True)
class Warning:
    code: str
    message_id: str
    message_en: str


def zone_label(name: str) -> str | None:
    """WIB / WITA / WIT, or None for a zone outside Indonesia."""
    return INDONESIAN_ZONES.get(name)


def timezone_warnings(name: str) -> list[Warning]:
    """One warning when the zone is not WIB, WITA or WIT; none otherwise."""
    if name in INDONESIAN_ZONES:
        return []
    return [Warning(
        "timezone_not_indonesian",
        f"zona waktu '{name}' bukan WIB (Asia/Jakarta), WITA (Asia/Makassar) atau WIT "
        "(Asia/Jayapura): hari dan nomor antrean mengikuti zona ini",
        f"time zone '{name}' is not WIB (Asia/Jakarta), WITA (Asia/Makassar) or WIT "
        "(Asia/Jayapura): the queue's day and numbers follow this zone",
    )]
