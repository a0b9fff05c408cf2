"""Priority service (UU 25/2009 Pasal 29; UU 22/2009 Pasal 242 for the sick) and call order."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Protocol, TypeVar


class PriorityGroup(StrEnum):
    """Groups entitled to special treatment; never shown on public screens."""

    LANSIA = "lansia"
    DISABILITAS = "disabilitas"
    IBU_HAMIL = "ibu_hamil"
    ANAK = "anak"
    KORBAN_BENCANA = "korban_bencana"
    SAKIT = "sakit"
    OTHER = "other"


LABELS_ID: dict[PriorityGroup, str] = {
    PriorityGroup.LANSIA: "Lanjut usia",
    PriorityGroup.DISABILITAS: "Penyandang disabilitas",
    PriorityGroup.IBU_HAMIL: "Ibu hamil",
    PriorityGroup.ANAK: "Anak-anak",
    PriorityGroup.KORBAN_BENCANA: "Korban bencana",
    PriorityGroup.SAKIT: "Sakit",
    PriorityGroup.OTHER: "Lainnya",
}

LABELS_EN: dict[PriorityGroup, str] = {
    PriorityGroup.LANSIA: "Older person",
    PriorityGroup.DISABILITAS: "Person with disability",
    PriorityGroup.IBU_HAMIL: "Pregnant woman",
    PriorityGroup.ANAK: "Child",
    PriorityGroup.KORBAN_BENCANA: "Disaster victim",
    PriorityGroup.SAKIT: "Sick person",
    PriorityGroup.OTHER: "Other",
}


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
