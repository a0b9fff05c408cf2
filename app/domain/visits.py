"""Visits with several services (integrasi layanan): the rules of a visit's steps.

A visit is one ticket and a plan: its steps, in order. Exactly one step is `current` while the
visit is open: the ticket is in that step's queue, and the ticket's own status says where it is
there (waiting, called, serving, held). The others are `pending` (to come) or final.

Every function here takes the plan as it is and returns the plan as it must become; the caller
stores the difference. Nothing here knows about storage or transport.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from app.domain.errors import DomainError

# The most steps one visit may have (the first service and five more).
MAX_STEPS = 6


class StepStatus(StrEnum):
    PENDING = "pending"
    CURRENT = "current"
    DONE = "done"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"
    CLOSED_OUT = "closed_out"
    TRANSFERRED = "transferred"


OPEN_STEPS = frozenset({StepStatus.PENDING, StepStatus.CURRENT})


class Requeue(StrEnum):
    """Where a ticket joins the next step's queue (a site setting)."""

    ORIGINAL = "original"  # by its original issue time (the default)
    BACK = "back"  # behind everyone waiting there now


@dataclass(frozen=True)
class Step:
    """One step; `id` is None for a step not stored yet."""

    id: int | None
    position: int
    service_id: int
    agency_id: int
    status: StepStatus

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STEPS


Plan = tuple[Step, ...]


def _ordered(steps: Sequence[Step]) -> Plan:
    return tuple(sorted(steps, key=lambda s: s.position))


def check_new_plan(service_ids: Sequence[int]) -> None:
    """A plan asked for at issue: at most MAX_STEPS services, each once."""
    if len(service_ids) > MAX_STEPS:
        raise DomainError("too_many_steps", max=MAX_STEPS)
    seen: set[int] = set()
    for sid in service_ids:
        if sid in seen:
            raise DomainError("duplicate_step")
        seen.add(sid)


def new_plan(services: Sequence[tuple[int, int]]) -> Plan:
    """The plan of a new visit from (service_id, agency_id) pairs: the first is current."""
    check_new_plan([s for s, _ in services])
    return tuple(Step(None, i + 1, sid, aid, StepStatus.CURRENT if i == 0 else StepStatus.PENDING)
                 for i, (sid, aid) in enumerate(services))


def current(steps: Sequence[Step]) -> Step | None:
    return next((s for s in _ordered(steps) if s.status == StepStatus.CURRENT), None)


def public_status(step: Step, ticket_status: str) -> str:
    """What a screen shows for a step: the current one has the ticket's own status."""
    return ticket_status if step.status == StepStatus.CURRENT else step.status.value


@dataclass(frozen=True)
class Outcome:
    """The plan after a step ended, and the step the ticket moves to (None: the visit is over)."""

    plan: Plan
    moved_to: Step | None


def _end_current(steps: Sequence[Step], status: StepStatus, *, cancel_rest: bool = False
                 ) -> Outcome:
    plan = _ordered(steps)
    now = current(plan)
    if now is None:
        return Outcome(plan, None)
    out: list[Step] = []
    moved_to: Step | None = None
    for s in plan:
        if s.id == now.id and s.position == now.position:
            out.append(replace(s, status=status))
        elif s.status == StepStatus.PENDING and cancel_rest:
            out.append(replace(s, status=StepStatus.CANCELLED))
        elif s.status == StepStatus.PENDING and moved_to is None:
            moved_to = replace(s, status=StepStatus.CURRENT)
            out.append(moved_to)
        else:
            out.append(s)
    return Outcome(tuple(out), moved_to)


def on_finish(steps: Sequence[Step]) -> Outcome:
    """The current step is done; the ticket moves on to the first pending step, if any."""
    return _end_current(steps, StepStatus.DONE)


def on_no_show(steps: Sequence[Step], *, cancel_rest: bool) -> Outcome:
    """The citizen missed the current step. The later steps still wait for them, unless the
    site cancels them (`cancel_rest`)."""
    return _end_current(steps, StepStatus.NO_SHOW, cancel_rest=cancel_rest)


def on_cancel(steps: Sequence[Step]) -> Plan:
    """The ticket was cancelled: every open step is cancelled with it."""
    return tuple(replace(s, status=StepStatus.CANCELLED) if s.is_open else s
                 for s in _ordered(steps))


def on_close_out(steps: Sequence[Step]) -> Plan:
    """End of day: every open step (the current one and those to come) is closed out."""
    return tuple(replace(s, status=StepStatus.CLOSED_OUT) if s.is_open else s
                 for s in _ordered(steps))


def on_transfer(steps: Sequence[Step], *, service_id: int, agency_id: int) -> Plan:
    """An officer sent the citizen to another service instead of the current step: that step
    ends as transferred and the target becomes the current step right after it; a pending step
    for the same service is dropped (the citizen does it now)."""
    plan = _ordered(steps)
    now = current(plan)
    if now is None:
        return plan
    out: list[Step] = []
    for s in plan:
        if s is now:
            out.append(replace(s, status=StepStatus.TRANSFERRED))
            out.append(Step(None, 0, service_id, agency_id, StepStatus.CURRENT))
        elif s.status == StepStatus.PENDING and s.service_id == service_id:
            continue
        else:
            out.append(s)
    return _renumber(out)


def _renumber(steps: Sequence[Step]) -> Plan:
    return tuple(s if s.position == i + 1 else replace(s, position=i + 1)
                 for i, s in enumerate(steps))


def add_step(steps: Sequence[Step], *, service_id: int, agency_id: int) -> Plan:
    """An officer adds a step at the end of the plan. A service already open in the plan is
    refused, and so is a plan that would exceed MAX_STEPS."""
    plan = _ordered(steps)
    if not any(s.is_open for s in plan):
        raise DomainError("visit_over")
    if any(s.is_open and s.service_id == service_id for s in plan):
        raise DomainError("duplicate_step")
    if len(plan) >= MAX_STEPS:
        raise DomainError("too_many_steps", max=MAX_STEPS)
    last = plan[-1].position if plan else 0
    return (*plan, Step(None, last + 1, service_id, agency_id, StepStatus.PENDING))


def drop_step(steps: Sequence[Step], step_id: int) -> tuple[Plan, Step]:
    """Drop a pending step; returns the plan without it and the dropped step (cancelled)."""
    plan = _ordered(steps)
    found = next((s for s in plan if s.id == step_id), None)
    if found is None:
        raise DomainError("not_found", what="Langkah kunjungan")
    if found.status != StepStatus.PENDING:
        raise DomainError("step_not_pending")
    dropped = replace(found, status=StepStatus.CANCELLED)
    rest = [s for s in plan if s.id != step_id]
    # The dropped step keeps a place at the end, so the history stays whole.
    return (*_renumber(rest), replace(dropped, position=len(rest) + 1)), dropped


def reorder(steps: Sequence[Step], pending_ids: Sequence[int]) -> Plan:
    """Put the pending steps in the order given (every pending step, each once); steps that
    already ran or are running keep their places before them."""
    plan = _ordered(steps)
    pending = {s.id: s for s in plan if s.status == StepStatus.PENDING}
    if len(pending_ids) != len(set(pending_ids)) or set(pending_ids) != set(pending):
        raise DomainError("invalid_step_order")
    fixed = [s for s in plan if s.status != StepStatus.PENDING and s.status != StepStatus.CANCELLED]
    dropped = [s for s in plan if s.status == StepStatus.CANCELLED]
    return _renumber([*fixed, *(pending[i] for i in pending_ids), *dropped])


def plan_editors(steps: Sequence[Step]) -> frozenset[int]:
    """Agencies whose officers may change the plan: the current step's, and the one whose step
    ended last (its officer has just served the citizen, who may ask for one more service;
    the ticket has already moved on, but that change must not be lost)."""
    plan = _ordered(steps)
    out = {s.agency_id for s in plan if s.status == StepStatus.CURRENT}
    ended = [s for s in plan if s.status in (StepStatus.DONE, StepStatus.NO_SHOW,
                                             StepStatus.TRANSFERRED)]
    if ended:
        out.add(ended[-1].agency_id)
    return frozenset(out)


def requeue_sort_at(requeue: Requeue | str, *, original: datetime, now: datetime) -> datetime:
    """The queue order of a ticket joining its next step's queue."""
    return now if Requeue(requeue) == Requeue.BACK else original


@dataclass(frozen=True)
class StepTimes:
    """A step's times, for the statistics of a visit."""

    queued_at: datetime | None
    called_at: datetime | None
    finished_at: datetime | None


def visit_minutes(issued_at: datetime, steps: Sequence[StepTimes]) -> float | None:
    """The whole visit, first issue to the last step done; None while a step is unfinished."""
    if not steps or any(s.finished_at is None for s in steps):
        return None
    last = max(s.finished_at for s in steps if s.finished_at is not None)
    return (last - issued_at).total_seconds() / 60


def gaps_minutes(steps: Sequence[StepTimes]) -> list[float]:
    """Time between steps: from the end of one step to the call at the next one (walking over
    and waiting there)."""
    out = []
    for a, b in zip(steps, steps[1:], strict=False):
        if a.finished_at is not None and b.called_at is not None:
            out.append(max(0.0, (b.called_at - a.finished_at).total_seconds() / 60))
    return out
