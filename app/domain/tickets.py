"""Ticket lifecycle: statuses, officer actions and the one table of allowed transitions."""

from __future__ import annotations

from enum import StrEnum

from app.domain.errors import InvalidTransition


class TicketStatus(StrEnum):
    """Where a ticket is in its life; stored as these strings."""

    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    DONE = "done"
    NO_SHOW = "no_show"
    HELD = "held"
    TRANSFERRED = "transferred"
    CANCELLED = "cancelled"
    CLOSED_OUT = "closed_out"


class Action(StrEnum):
    """What an officer (or the end-of-day job) does to a ticket."""

    CALL = "call"
    RECALL = "recall"
    START = "start"
    FINISH = "finish"
    NO_SHOW = "no_show"
    HOLD = "hold"
    RESUME = "resume"
    TRANSFER = "transfer"
    CANCEL = "cancel"
    CLOSE_OUT = "close_out"


_S = TicketStatus
_A = Action

TRANSITIONS: dict[tuple[TicketStatus, Action], TicketStatus] = {
    (_S.WAITING, _A.CALL): _S.CALLED,
    # A held ticket (citizen went to fetch a document) is called back directly.
    (_S.HELD, _A.CALL): _S.CALLED,
    (_S.CALLED, _A.RECALL): _S.CALLED,
    (_S.CALLED, _A.START): _S.SERVING,
    (_S.SERVING, _A.FINISH): _S.DONE,
    (_S.CALLED, _A.NO_SHOW): _S.NO_SHOW,
    (_S.CALLED, _A.HOLD): _S.HELD,
    (_S.SERVING, _A.HOLD): _S.HELD,
    (_S.HELD, _A.RESUME): _S.WAITING,
    (_S.CALLED, _A.TRANSFER): _S.TRANSFERRED,
    (_S.SERVING, _A.TRANSFER): _S.TRANSFERRED,
    (_S.HELD, _A.TRANSFER): _S.TRANSFERRED,
    (_S.WAITING, _A.CANCEL): _S.CANCELLED,
    (_S.HELD, _A.CANCEL): _S.CANCELLED,
    (_S.WAITING, _A.CLOSE_OUT): _S.CLOSED_OUT,
    (_S.CALLED, _A.CLOSE_OUT): _S.CLOSED_OUT,
    (_S.SERVING, _A.CLOSE_OUT): _S.CLOSED_OUT,
    (_S.HELD, _A.CLOSE_OUT): _S.CLOSED_OUT,
}

FINAL_STATES: frozenset[TicketStatus] = frozenset(
    {_S.DONE, _S.NO_SHOW, _S.TRANSFERRED, _S.CANCELLED, _S.CLOSED_OUT}
)
ACTIVE_STATES: frozenset[TicketStatus] = frozenset(TicketStatus) - FINAL_STATES


def transition(status: TicketStatus | str, action: Action | str) -> TicketStatus:
    """Return the status after `action`, or raise InvalidTransition (also for unknown names)."""
    try:
        key = (TicketStatus(status), Action(action))
    except ValueError:
        raise InvalidTransition(status=str(status), action=str(action)) from None
    try:
        return TRANSITIONS[key]
    except KeyError:
        raise InvalidTransition(status=str(status), action=str(action)) from None
