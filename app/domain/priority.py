"""Priority service (UU 25/2009 Pasal 29; UU 22/2009 Pasal 242 for the sick) and call order."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Protocol, TypeVar

from app.domain.errors import InvalidValue


class PriorityGroup(StrEnum):
    """Groups entitled to special treatment; never shown on public screens.

    Pasal 29(2) forbids special treatment to anyone it does not name, so there is no
    catch-all group; SAKIT only where a service offers it (UU 22/2009 Pasal 242).
    """

    LANSIA = "lansia"
    DISABILITAS = "disabilitas"
    IBU_HAMIL = "ibu_hamil"
    ANAK = "anak"
    KORBAN_BENCANA = "korban_bencana"
    SAKIT = "sakit"


LABELS_ID: dict[PriorityGroup, str] = {
    PriorityGroup.LANSIA: "Lanjut usia",
    PriorityGroup.DISABILITAS: "Penyandang disabilitas",
    PriorityGroup.IBU_HAMIL: "Ibu hamil",
    PriorityGroup.ANAK: "Anak-anak",
    PriorityGroup.KORBAN_BENCANA: "Korban bencana",
    PriorityGroup.SAKIT: "Sakit",
}

LABELS_EN: dict[PriorityGroup, str] = {
    PriorityGroup.LANSIA: "Older person",
    PriorityGroup.DISABILITAS: "Person with disability",
    PriorityGroup.IBU_HAMIL: "Pregnant woman",
    PriorityGroup.ANAK: "Child",
    PriorityGroup.KORBAN_BENCANA: "Disaster victim",
    PriorityGroup.SAKIT: "Sick person",
}

# Groups every service offers; SAKIT is added per service.
UNIVERSAL_GROUPS: tuple[PriorityGroup, ...] = (
    PriorityGroup.LANSIA, PriorityGroup.DISABILITAS, PriorityGroup.IBU_HAMIL,
    PriorityGroup.ANAK, PriorityGroup.KORBAN_BENCANA,
)


def groups_for(*, sick: bool) -> list[PriorityGroup]:
    """The groups a service offers: the five of UU 25/2009 Pasal 29, plus the sick if it says so."""
    return [*UNIVERSAL_GROUPS, *([PriorityGroup.SAKIT] if sick else [])]


def parse_group(value: str | None) -> PriorityGroup | None:
    """The priority group a request names, or None for a regular ticket.

    "other" was accepted once; old clients get a message that says why it is gone.
    """
    if value is None:
        return None
    if value == "other":
        raise InvalidValue(
            "priority",
            "kelompok 'other' tidak ada lagi: UU 25/2009 Pasal 29 ayat (2) melarang perlakuan "
            "khusus bagi selain lansia, penyandang disabilitas, ibu hamil, anak-anak, korban "
            "bencana (dan orang sakit pada layanan tertentu)",
            "the group 'other' is gone: UU 25/2009 Art. 29(2) forbids special treatment for "
            "anyone but older persons, persons with disabilities, pregnant women, children, "
            "disaster victims (and the sick for some services)",
        )
    try:
        return PriorityGroup(value)
    except ValueError:
        raise InvalidValue("priority", "kelompok prioritas tidak dikenal",
                           "unknown priority group") from None


def check_offered(group: PriorityGroup | None, *, sick: bool) -> None:
    """Refuse 'sakit' at a service that does not offer priority to the sick."""
    if group is PriorityGroup.SAKIT and not sick:
        raise InvalidValue("priority", "layanan ini tidak menyediakan prioritas untuk orang sakit",
                           "this service offers no priority for the sick")


class Candidate(Protocol):
    """What choose_next needs to know about a waiting ticket."""

    priority: str | None
    sort_at: datetime
    id: int


C = TypeVar("C", bound=Candidate)


def choose_next(
    priority_head: C | None,
    regular_head: C | None,
    *,
    priority_streak: int,
    max_consecutive_priority: int | None,
) -> C | None:
    """Pick the next ticket of a service from the heads of its priority and regular lines.

    Priority goes first, except that once `priority_streak` consecutive priority calls reached
    `max_consecutive_priority` (None = no bound) a waiting regular ticket gets its turn, so
    regular citizens still move on busy days.
    """
    if max_consecutive_priority is not None and max_consecutive_priority < 0:
        raise ValueError("max_consecutive_priority must be >= 0 or None")
    if priority_head is None:
        return regular_head
    if regular_head is None:
        return priority_head
    if max_consecutive_priority is not None and priority_streak >= max_consecutive_priority:
        return regular_head
    return priority_head


def next_streak(streak: int, called_priority: bool) -> int:
    """Consecutive priority calls after this call: +1 for a priority ticket, reset otherwise."""
    return streak + 1 if called_priority else 0
