"""Visits with several services: issue with a plan, move on, change the plan, read it.

The rules are in app/domain/visits.py; this module loads a ticket's steps, asks the domain and
stores the difference. A single-service ticket (`has_steps` false) never reaches any of this
except through `steps_view`, which then reads nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from app.db.models import Service, Ticket, VisitStep
from app.db.visit_store import VisitStore
from app.domain import events as ev
from app.domain import visits as dv
from app.domain.errors import DomainError, NotFound
from app.domain.events import Event
from app.domain.tickets import TicketStatus
from app.services import notify
from app.services.context import Ctx
from app.services.policy import ensure_can_issue

STEP_QUEUED = "step_queued"  # ticket_event type: the ticket joined its next step's queue


# --- reading --------------------------------------------------------------------------------


def store(session: Session) -> VisitStore:
    found = session.info.get("visit_store")
    if found is None:
        found = session.info["visit_store"] = VisitStore(session)
    return found  # type: ignore[no-any-return]


def step_rows(session: Session, ticket_id: int) -> list[VisitStep]:
    return store(session).steps(ticket_id)


def _domain(rows: Sequence[VisitStep]) -> dv.Plan:
    return tuple(dv.Step(r.id, r.position, r.service_id, r.agency_id, dv.StepStatus(r.status))
                 for r in rows)


def steps_view(session: Session, ticket: Any, *, names: bool = False) -> list[dict[str, Any]]:
    """The plan as the API shows it: [{service_id, agency_id, status, ...}], empty for a
    single-service ticket. With `names`: service and agency names, floor and zone (tracking)."""
    if not getattr(ticket, "has_steps", False):
        return []
    rows = step_rows(session, ticket.id)
    services = _services(session, [r.service_id for r in rows]) if names else {}
    out = []
    for r in rows:
        step = _domain([r])[0]
        item: dict[str, Any] = {"id": r.id, "position": r.position, "service_id": r.service_id,
                                "agency_id": r.agency_id,
                                "status": dv.public_status(step, ticket.status),
                                "current": step.status == dv.StepStatus.CURRENT}
        if names:
            s = services[r.service_id]
            item.update(service=s.name, agency=s.agency.name, floor=s.agency.floor,
                        zone=s.agency.zone)
        out.append(item)
    return out


def _services(session: Session, ids: Sequence[int]) -> dict[int, Service]:
    return store(session).services(ids)


# --- quota of the later steps -----------------------------------------------------------------


def _label(service: Service) -> dict[str, Any]:
    return {"service_label": f' "{service.name}"', "step_service_id": service.id}


def _decide_step(ctx: Ctx, service: Service, *, check_hours: bool) -> int | None:
    """Ask the one issue decision (app/domain/issuing.py) whether this service could issue a
    ticket now: hours and quota are its rules, not ours. Returns the quota bound to take a
    place under; raises the refusal (closed, full, inactive...) naming the step."""
    from app.domain import issuing
    from app.services import tickets

    found = tickets.store(ctx.session).issue_facts(service.id, ctx.now, None)
    facts, today = found.service, found.today
    # Priority carries over from the first step; it changes neither hours nor quota.
    request = issuing.IssueRequest(service_id=service.id, channel="visit",
                                   check_hours=check_hours)
    held = None
    if facts is not None and today is not None and issuing.needs_held_for_bookings(facts,
                                                                                  request):
        from app.services.booking import held_for_bookings

        held = held_for_bookings(ctx.session, service, service.agency.site, today.day, ctx.now)
    decided = issuing.decide_issue(facts, today, request,
                                   tickets.issuing_actor(ctx.session, ctx.actor), now=ctx.now,
                                   tracking_code="-", held_for_bookings=held)
    if isinstance(decided, issuing.Refusal):
        try:
            tickets._refuse(ctx.session, decided, service.id, ctx.now)
        except DomainError as err:
            raise DomainError(err.code, **err.params, **_label(service)) from None
    return decided.quota_limit


def _take_quota(ctx: Ctx, service: Service, day: date, *, check_hours: bool = True) -> None:
    """Take one place of the service's daily quota for a later step (no number is drawn),
    under the bound the issue decision gives: the same guarded bump a ticket's issue makes."""
    from app.services.tickets import _quota_exhausted

    limit = _decide_step(ctx, service, check_hours=check_hours)
    if not store(ctx.session).take_place(service.id, day, limit):
        # A racing issue took the last place between the decision and this bump.
        try:
            _quota_exhausted(ctx.session, service.id, ctx.now, day)
        except DomainError as err:
            raise DomainError(err.code, **err.params, **_label(service)) from None


def _give_back_quota(session: Session, service_id: int, day: date) -> None:
    store(session).give_back_place(service_id, day)


# --- issue ----------------------------------------------------------------------------------


def check_later_steps(ctx: Ctx, first: Service, next_ids: Sequence[int]) -> list[Service]:
    """The later steps of a visit asked for at issue: known services of the same site, each
    once (their hours and quota are decided when their places are taken)."""
    dv.check_new_plan([first.id, *next_ids])
    services = _services(ctx.session, next_ids)
    out = []
    for sid in next_ids:
        s = services.get(sid)
        if s is None:
            raise NotFound("Layanan", "Service")
        if s.site_id != first.site_id:
            raise DomainError("forbidden")
        out.append(s)
    return out


def take_later_steps(ctx: Ctx, first: Service, next_ids: Sequence[int]
                     ) -> tuple[list[Service], date]:
    """Check the later steps and take a quota place in each, all or nothing (a refusal names
    the step; the unit of work then rolls back every place taken). The day's rows of every
    step, the first's too, are locked first in one order."""
    from app.services.sitetime import local_day

    later = check_later_steps(ctx, first, next_ids)
    day = local_day(first.agency.site, ctx.now)
    store(ctx.session).lock_days([first.id, *(s.id for s in later)], day)
    for s in later:
        _take_quota(ctx, s, day)
    return later, day


def issue_visit(ctx: Ctx, *, service_id: int, next_service_ids: Sequence[int],
                priority: str | None = None, idempotency_key: str | None = None,
                package_id: int | None = None, channel: str = "kiosk",
                issue: Any = None, phone_confirmed: bool = False) -> Any:
    """Issue one ticket for several services: every step's quota is taken in this transaction
    or none is. `issue` is the single-ticket issue to run for the first step (tickets.issue_
    ticket by default: the number, the first quota and hours, the idempotency key)."""
    from app.services import tickets

    first = tickets.get_service(ctx.session, service_id)
    if package_id is not None:
        next_service_ids = _package_steps(ctx, package_id, first, next_service_ids)
    for step_id in next_service_ids:
        ensure_can_issue(ctx.actor, step_id)
    later, day = take_later_steps(ctx, first, next_service_ids)
    try:
        issued = (issue or tickets.issue_ticket)(
            ctx, service_id=service_id, priority=priority, idempotency_key=idempotency_key,
            channel=channel, phone_confirmed=phone_confirmed)
    except DomainError as err:
        if err.code in ("quota_exhausted", "service_closed"):
            raise DomainError(err.code, **err.params, **_label(first)) from None
        raise
    if not issued.created:
        # A retry: the first request made the plan and took its places; give ours back.
        for s in later:
            _give_back_quota(ctx.session, s.id, day)
        return issued
    ticket = issued.ticket
    start_plan(ctx, ticket, [first, *later], day=day, package_id=package_id)
    return issued


def _package_steps(ctx: Ctx, package_id: int, first: Service, next_ids: Sequence[int]
                   ) -> Sequence[int]:
    """The later steps of a package's visit: the ones asked for (the kiosk may leave out a
    closed or full one), or, when none are, the package's own after its first service."""
    from app.services.packages import get_package

    pkg = get_package(ctx.session, package_id)
    if pkg.site_id != first.site_id or not pkg.is_active:
        raise NotFound("Paket layanan", "Service package")
    if next_ids or not pkg.service_ids or pkg.service_ids[0] != first.id:
        return next_ids
    return list(pkg.service_ids[1:])


def start_plan(ctx: Ctx, ticket: Ticket, services: Sequence[Service], *, day: date,
               package_id: int | None = None, quota_taken: bool = True) -> None:
    """Store the plan of a new visit (the first service is the ticket's own)."""
    plan = dv.new_plan([(s.id, s.agency_id) for s in services])
    for step in plan:
        ctx.session.add(VisitStep(
            ticket_id=ticket.id, position=step.position, site_id=ticket.site_id,
            service_id=step.service_id, agency_id=step.agency_id, day=day,
            status=step.status.value, quota_taken=quota_taken, package_id=package_id,
            added_by=ctx.actor.user_id if ctx.actor else None, created_at=ctx.now,
            queued_at=ctx.now if step.status == dv.StepStatus.CURRENT else None))
    ticket.has_steps = True
    ctx.session.flush()


# --- moving on ------------------------------------------------------------------------------


def _store(ctx: Ctx, ticket: Ticket, rows: list[VisitStep], plan: dv.Plan) -> None:
    by_id = {r.id: r for r in rows}
    for step in plan:
        if step.id is None:
            ctx.session.add(VisitStep(
                ticket_id=ticket.id, position=step.position, site_id=ticket.site_id,
                service_id=step.service_id, agency_id=step.agency_id, day=ticket.day,
                status=step.status.value, quota_taken=False,
                package_id=rows[0].package_id if rows else None,
                added_by=ctx.actor.user_id if ctx.actor else None, created_at=ctx.now,
                queued_at=ctx.now if step.status == dv.StepStatus.CURRENT else None))
            continue
        row = by_id[step.id]
        if row.status != step.status.value:
            if step.status not in dv.OPEN_STEPS and row.finished_at is None:
                row.finished_at = ctx.now
            if (step.status == dv.StepStatus.CANCELLED and row.status == "pending"
                    and row.quota_taken and row.day == ctx_day(ctx, ticket)):
                _give_back_quota(ctx.session, row.service_id, row.day)
                row.quota_taken = False
            row.status = step.status.value
        if row.position != step.position:
            row.position = step.position
    ctx.session.flush()


def ctx_day(ctx: Ctx, ticket: Ticket) -> date:
    from app.services.sitetime import local_day

    return local_day(ticket.service.agency.site, ctx.now)


def _move(ctx: Ctx, ticket: Ticket, rows: list[VisitStep], step: dv.Step) -> None:
    """The ticket joins the queue of its next step, keeping number, tracking code, priority."""
    from app.services.tickets import record_event

    site = ticket.service.agency.site
    old_service, old_agency, old_status = ticket.service_id, ticket.agency_id, ticket.status
    ticket.service_id, ticket.agency_id = step.service_id, step.agency_id
    ticket.status = TicketStatus.WAITING.value
    ticket.sort_at = dv.requeue_sort_at(site.visit_requeue, original=ticket.issued_at,
                                        now=ctx.now)
    ticket.queued_at = ctx.now
    ticket.counter_id = None
    ticket.called_at = ticket.first_called_at = ticket.started_at = ticket.finished_at = None
    ticket.call_count = 0
    ctx.session.flush()
    ctx.session.expire(ticket, ["service"])
    row = next(r for r in rows if r.id == step.id)
    row.queued_at = ctx.now
    record_event(ctx, ticket, site, STEP_QUEUED, old_status, counter_id=None)
    target = ticket.service
    ctx.emit(Event(ev.VISIT_STEP_CHANGED, ticket.site_id, {
        "ticket_id": ticket.id, "number": ticket.number, "from": old_status,
        "status": ticket.status, "service_id": old_service, "agency_id": old_agency,
        "to_service_id": target.id, "to_agency_id": target.agency_id,
        "to_service": target.name, "to_agency": target.agency.name,
        "floor": target.agency.floor, "zone": target.agency.zone, "position": step.position,
        "steps": len(rows), "at": ctx.now.isoformat(),
    }))
    notify.on_visit_step(ctx, ticket, step.position)


def _ended(ctx: Ctx, ticket: Ticket, outcome: dv.Outcome) -> None:
    rows = step_rows(ctx.session, ticket.id)
    _store(ctx, ticket, rows, outcome.plan)
    if outcome.moved_to is not None:
        _move(ctx, ticket, rows, outcome.moved_to)


def after_finish(ctx: Ctx, ticket: Ticket) -> None:
    """The current step was served: move on to the next one, if any."""
    if ticket.has_steps:
        _ended(ctx, ticket, dv.on_finish(_domain(step_rows(ctx.session, ticket.id))))


def after_no_show(ctx: Ctx, ticket: Ticket) -> None:
    """The citizen missed the current step: the later ones still wait (unless the site says)."""
    if ticket.has_steps:
        cancel = bool(ticket.service.agency.site.visit_no_show_cancels)
        _ended(ctx, ticket, dv.on_no_show(_domain(step_rows(ctx.session, ticket.id)),
                                          cancel_rest=cancel))


def after_cancel(ctx: Ctx, ticket: Ticket) -> None:
    if ticket.has_steps:
        rows = step_rows(ctx.session, ticket.id)
        _store(ctx, ticket, rows, dv.on_cancel(_domain(rows)))


def after_close_out(ctx: Ctx, ticket: Ticket) -> None:
    if ticket.has_steps:
        rows = step_rows(ctx.session, ticket.id)
        _store(ctx, ticket, rows, dv.on_close_out(_domain(rows)))


def after_first_call(ctx: Ctx, ticket: Ticket) -> None:
    """Remember when the current step was first called (the time between steps)."""
    if ticket.has_steps:
        for r in step_rows(ctx.session, ticket.id):
            if r.status == dv.StepStatus.CURRENT.value and r.called_at is None:
                r.called_at = ctx.now


def after_transfer(ctx: Ctx, old: Ticket, new: Ticket) -> None:
    """A visit's ticket was transferred: the plan goes with the citizen to the new ticket."""
    if not old.has_steps:
        return
    rows = step_rows(ctx.session, old.id)
    for r in rows:
        r.ticket_id = new.id
    new.has_steps = True
    plan = dv.on_transfer(_domain(rows), service_id=new.service_id, agency_id=new.agency_id)
    dropped = {r.id for r in rows} - {s.id for s in plan if s.id is not None}
    for r in rows:
        if r.id in dropped:
            r.status = dv.StepStatus.CANCELLED.value  # done now as the transfer's target
            r.position = len(plan) + 1
    _store(ctx, new, [r for r in rows if r.id not in dropped], plan)


# --- officers change the plan ------------------------------------------------------------------


def ensure_may_change_plan(ctx: Ctx, ticket: Ticket) -> None:
    """Officers of the current step's agency, or of the step that ended last, change a plan
    (app/domain/visits.plan_editors); admins any."""
    from app.services.scope import require_role

    actor = require_role(ctx.actor, "admin", "officer")
    if actor.role == "admin" or actor.agency_id == ticket.agency_id:
        return
    if not ticket.has_steps or actor.agency_id not in dv.plan_editors(
            _domain(step_rows(ctx.session, ticket.id))):
        raise DomainError("forbidden")


def ensure_visit(ctx: Ctx, ticket: Ticket) -> list[VisitStep]:
    """The ticket's steps, making a single-service ticket a visit of one step if need be."""
    if not ticket.has_steps:
        if TicketStatus(ticket.status) not in (TicketStatus.WAITING, TicketStatus.CALLED,
                                               TicketStatus.SERVING, TicketStatus.HELD):
            raise DomainError("visit_over")
        start_plan(ctx, ticket, [ticket.service], day=ticket.day, quota_taken=True)
    return step_rows(ctx.session, ticket.id)


def add_step(ctx: Ctx, ticket: Ticket, *, service_id: int) -> None:
    """Add a service at the end of the visit; its quota is taken now (409 when it is full)."""
    from app.services import tickets
    from app.services.sitetime import local_day

    service = tickets.get_service(ctx.session, service_id)
    if service.site_id != ticket.site_id:
        raise DomainError("forbidden")
    rows = ensure_visit(ctx, ticket)
    plan = dv.add_step(_domain(rows), service_id=service.id, agency_id=service.agency_id)
    day = local_day(service.agency.site, ctx.now)
    # Added at the counter for later today, like a transfer: the hours now do not matter.
    _take_quota(ctx, service, day, check_hours=False)
    _store(ctx, ticket, rows, plan)
    added = next(r for r in step_rows(ctx.session, ticket.id) if r.service_id == service.id
                 and r.status == "pending")
    added.quota_taken = True
    added.added_by = ctx.actor.user_id if ctx.actor else None
    _plan_changed(ctx, ticket)


def drop_step(ctx: Ctx, ticket: Ticket, step_id: int) -> None:
    rows = ensure_visit(ctx, ticket)
    plan, _ = dv.drop_step(_domain(rows), step_id)
    _store(ctx, ticket, rows, plan)
    _plan_changed(ctx, ticket)


def reorder(ctx: Ctx, ticket: Ticket, step_ids: Sequence[int]) -> None:
    rows = ensure_visit(ctx, ticket)
    _store(ctx, ticket, rows, dv.reorder(_domain(rows), step_ids))
    _plan_changed(ctx, ticket)


def _plan_changed(ctx: Ctx, ticket: Ticket) -> None:
    ctx.emit(Event(ev.TICKET_STATUS, ticket.site_id, {
        "ticket_id": ticket.id, "number": ticket.number, "from": ticket.status,
        "status": ticket.status, "service_id": ticket.service_id, "agency_id": ticket.agency_id,
        "counter_id": ticket.counter_id, "at": ctx.now.isoformat(), "plan_changed": True,
    }))
