"""The full transition table, valid and invalid pairs alike."""

from __future__ import annotations

import itertools

import pytest

from app.domain.errors import DomainError, InvalidTransition
from app.domain.tickets import (
    ACTIVE_STATES,
    FINAL_STATES,
    TRANSITIONS,
    Action,
    TicketStatus,
    transition,
)

S, A = TicketStatus, Action

EXPECTED: dict[tuple[TicketStatus, Action], TicketStatus] = {
    (S.WAITING, A.CALL): S.CALLED,
    (S.HELD, A.CALL): S.CALLED,
    (S.CALLED, A.RECALL): S.CALLED,
    (S.CALLED, A.START): S.SERVING,
    (S.SERVING, A.FINISH): S.DONE,
    (S.CALLED, A.NO_SHOW): S.NO_SHOW,
    (S.CALLED, A.HOLD): S.HELD,
    (S.SERVING, A.HOLD): S.HELD,
    (S.HELD, A.RESUME): S.WAITING,
    (S.CALLED, A.TRANSFER): S.TRANSFERRED,
    (S.SERVING, A.TRANSFER): S.TRANSFERRED,
    (S.HELD, A.TRANSFER): S.TRANSFERRED,
    (S.WAITING, A.CANCEL): S.CANCELLED,
    (S.HELD, A.CANCEL): S.CANCELLED,
    (S.WAITING, A.CLOSE_OUT): S.CLOSED_OUT,
    (S.CALLED, A.CLOSE_OUT): S.CLOSED_OUT,
    (S.SERVING, A.CLOSE_OUT): S.CLOSED_OUT,
    (S.HELD, A.CLOSE_OUT): S.CLOSED_OUT,
}
ALL_PAIRS = list(itertools.product(TicketStatus, Action))
INVALID = [pair for pair in ALL_PAIRS if pair not in EXPECTED]


def test_table_is_exactly_the_spec() -> None:
    assert TRANSITIONS == EXPECTED


@pytest.mark.parametrize(("status", "action"), list(EXPECTED))
def test_valid_transition(status: TicketStatus, action: Action) -> None:
    assert transition(status, action) is EXPECTED[(status, action)]
    # Plain strings, as they come from the database or a form, work too.
    assert transition(status.value, action.value) is EXPECTED[(status, action)]


@pytest.mark.parametrize(("status", "action"), INVALID)
def test_invalid_transition(status: TicketStatus, action: Action) -> None:
    with pytest.raises(InvalidTransition) as info:
        transition(status, action)
    assert info.value.code == "invalid_transition"
    assert info.value.status == 409
    assert info.value.params == {"status": status.value, "action": action.value}


def test_counts() -> None:
    assert len(INVALID) + len(EXPECTED) == 9 * 10
    assert len(INVALID) == 72


@pytest.mark.parametrize(
    ("status", "action"),
    [("bogus", "call"), ("waiting", "teleport"), ("", ""), ("WAITING", "call")],
)
def test_unknown_names_are_invalid_transitions(status: str, action: str) -> None:
    with pytest.raises(InvalidTransition) as info:
        transition(status, action)
    assert isinstance(info.value, DomainError)
    assert info.value.params == {"status": status, "action": action}


def test_final_and_active_states() -> None:
    assert FINAL_STATES == {S.DONE, S.NO_SHOW, S.TRANSFERRED, S.CANCELLED, S.CLOSED_OUT}
    assert ACTIVE_STATES == {S.WAITING, S.CALLED, S.SERVING, S.HELD}
    assert not FINAL_STATES & ACTIVE_STATES


@pytest.mark.parametrize("status", sorted(FINAL_STATES))
def test_final_states_have_no_exit(status: TicketStatus) -> None:
    assert not [a for (s, a) in TRANSITIONS if s is status]


@pytest.mark.parametrize("status", sorted(ACTIVE_STATES))
def test_every_active_state_can_be_closed_out(status: TicketStatus) -> None:
    assert transition(status, A.CLOSE_OUT) is S.CLOSED_OUT


def test_message_is_bilingual() -> None:
    err = InvalidTransition(status="done", action="call")
    assert "done" in err.message("id") and "call" in err.message("en")
