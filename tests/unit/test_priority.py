"""Priority groups and the bounded priority-first call order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pytest

from app.domain.priority import (
    LABELS_EN,
    LABELS_ID,
    PriorityGroup,
    choose_next,
    next_streak,
)

T0 = datetime(2025, 3, 3, 8, 0)


@dataclass
class Ticket:
    id: int
    priority: str | None = None
    sort_at: datetime = T0


P = Ticket(1, "lansia")
R = Ticket(2)


def test_labels_cover_every_group() -> None:
    assert set(LABELS_ID) == set(PriorityGroup) == set(LABELS_EN)
    assert LABELS_ID[PriorityGroup.LANSIA] == "Lanjut usia"
    assert LABELS_ID[PriorityGroup.IBU_HAMIL] == "Ibu hamil"
    assert PriorityGroup("korban_bencana") is PriorityGroup.KORBAN_BENCANA


@pytest.mark.parametrize(
    ("p", "r", "streak", "bound", "expected"),
    [
        (None, None, 0, None, None),
        (P, None, 0, None, P),
        (None, R, 0, None, R),
        (P, R, 0, None, P),
        (P, R, 100, None, P),  # unbounded: priority always first
        (P, R, 0, 2, P),
        (P, R, 1, 2, P),
        (P, R, 2, 2, R),  # bound reached and a regular ticket waits
        (P, R, 3, 2, R),
        (P, None, 5, 2, P),  # bound reached but nobody regular waits
        (P, R, 0, 0, R),  # bound 0: priority only when no regular ticket waits
    ],
)
def test_choose_next(
    p: Ticket | None, r: Ticket | None, streak: int, bound: int | None, expected: Ticket | None
) -> None:
    got = choose_next(p, r, priority_streak=streak, max_consecutive_priority=bound)
    assert got is expected


def test_negative_bound_rejected() -> None:
    with pytest.raises(ValueError):
        choose_next(P, R, priority_streak=0, max_consecutive_priority=-1)


def test_next_streak() -> None:
    assert next_streak(0, True) == 1
    assert next_streak(2, True) == 3
    assert next_streak(5, False) == 0


def test_simulated_line_alternates_at_bound() -> None:
    """Five priority and five regular tickets with bound 2: P P R P P R P R R R."""
    priority = [Ticket(i, "disabilitas") for i in range(5)]
    regular = [Ticket(10 + i) for i in range(5)]
    streak, order = 0, []
    while priority or regular:
        pick = choose_next(
            priority[0] if priority else None,
            regular[0] if regular else None,
            priority_streak=streak,
            max_consecutive_priority=2,
        )
        assert pick is not None
        is_priority = pick.priority is not None
        (priority if is_priority else regular).pop(0)
        streak = next_streak(streak, is_priority)
        order.append("P" if is_priority else "R")
    assert "".join(order) == "PPRPPRPRRR"


def test_bounded_priority_three_then_one_regular() -> None:
    """DOMAIN.md: after N (default 3) priority calls in a row, one waiting regular ticket."""
    priority = [Ticket(i, "lansia") for i in range(1, 8)]
    regular = [Ticket(i) for i in range(100, 103)]
    streak, calls = 0, []
    while priority or regular:
        got = choose_next(priority[0] if priority else None, regular[0] if regular else None,
                          priority_streak=streak, max_consecutive_priority=3)
        assert got is not None
        (priority if got.priority else regular).remove(got)
        streak = next_streak(streak, got.priority is not None)
        calls.append("P" if got.priority else "R")
    assert "".join(calls) == "PPPRPPPRPR"


def test_no_catch_all_group() -> None:
    from app.domain.errors import InvalidValue
    from app.domain.priority import check_offered, groups_for, parse_group

    assert "other" not in {g.value for g in PriorityGroup}
    with pytest.raises(InvalidValue) as info:
        parse_group("other")
    assert "Pasal 29" in info.value.message("id")
    assert parse_group(None) is None and parse_group("sakit") is PriorityGroup.SAKIT
    assert PriorityGroup.SAKIT not in groups_for(sick=False)
    assert groups_for(sick=True)[-1] is PriorityGroup.SAKIT
    with pytest.raises(InvalidValue):
        check_offered(PriorityGroup.SAKIT, sick=False)
    check_offered(PriorityGroup.SAKIT, sick=True)
    check_offered(PriorityGroup.LANSIA, sick=False)
