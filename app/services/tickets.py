"""Ticket use cases: issue, call, serve, transfer, close out. Services flush, never commit."""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NoReturn

import sqlalchemy as sa
from sqlalchemy.orm import Session, make_transient_to_detached

from app.db.models import (
    Counter,
    Service,
    Site,
    Ticket,
    TicketEvent,
)
from app.db.ticket_store import Claim, TicketStore, Written
from app.domain import events as ev
from app.domain import issuing, speech, waiting
from app.domain.errors import DomainError, NotFound
from app.domain.events import Event
from app.domain.priority import choose_next, next_streak
from app.domain.tickets import Action, TicketStatus, transition
from app.services import notify, purge, visits
from app.services.context import Ctx, Principal
from app.services.policy import (
    STAFF_ROLES,
    ensure_can_issue,
    ensure_can_see_ticket,
    require_role,
)
from app.services.sitetime import (
    local_day,
    local_now,
    opening_hint,
    service_open_state,
    special_days,
)

EVENT_TYPES = {
    Action.CALL: "called",
    Action.RECALL: "recalled",
    Action.START: "started",
    Action.FINISH: "finished",
    Action.NO_SHOW: "no_show",
    Action.HOLD: "held",
    Action.RESUME: "resumed",
    Action.TRANSFER: "transferred",
    Action.CANCEL: "cancelled",
    Action.CLOSE_OUT: "closed_out",
}


@dataclass
class Issued:
    """An issued ticket. `view` has the ticket's columns as attributes; `ticket` is the ORM
    object (made on first use: the kiosk's answer needs only the view)."""

    view: Ticket | TicketRow
    created: bool
    people_ahead: int
    estimated_wait_minutes: int
    session: Session | None = None

    @property
    def ticket(self) -> Ticket:
        if not isinstance(self.view, Ticket):
            assert self.session is not None
            self.view = _attach_ticket(self.session, self.view)
        return self.view


def store(session: Session) -> TicketStore:
    """The ticket store of this unit of work's session."""
    found = session.info.get("ticket_store")
    if found is None:
        found = session.info["ticket_store"] = TicketStore(session)
    return found


def _insert(session: Session, table: sa.Table | type) -> sa.Insert:
    return store(session).insert(table)


def get_service(session: Session, service_id: int) -> Service:
    service = store(session).service(service_id)
    if service is None:
        raise NotFound("Layanan", "Service")
    return service


def get_ticket(session: Session, ticket_id: int, *, lock: bool = False) -> Ticket:
    ticket = store(session).ticket(ticket_id, lock=lock)
    if ticket is None:
        raise NotFound("Tiket", "Ticket")
    return ticket


def record_event(ctx: Ctx, ticket: Ticket, site: Site, event_type: str, from_status: str | None,
                 *, counter_id: int | None = None, duration: int | None = None,
                 note: str | None = None) -> None:
    lnow = local_now(site, ctx.now)
    store(ctx.session).add_event(
        TicketEvent(
            ticket_id=ticket.id,
            site_id=ticket.site_id,
            agency_id=ticket.agency_id,
            service_id=ticket.service_id,
            counter_id=counter_id if counter_id is not None else ticket.counter_id,
            user_id=ctx.actor.user_id if ctx.actor else None,
            type=event_type,
            from_status=from_status,
            to_status=ticket.status,
            at=ctx.now,
            day=lnow.date(),
            hour=lnow.hour,
            weekday=lnow.isoweekday(),
            priority=ticket.priority is not None,
            duration_seconds=duration,
            note=note,
        )
    )


def request_fingerprint(service_id: int, priority: str | None) -> str:
    return issuing.request_fingerprint(service_id, priority)


def _issued_for_key(ctx: Ctx, claim: Claim, request: issuing.IssueRequest) -> Issued:
    """A retry: the ticket its first request issued (after that request committed)."""
    session = ctx.session
    row = store(session).idempotency_key(claim)
    if row is None or row.ticket_id is None:  # pragma: no cover - the twin rolled back mid-read
        raise DomainError("idempotency_conflict")
    refusal = issuing.replay(row.request_hash, request)
    if refusal is not None:
        raise DomainError(refusal.code, **refusal.details)
    existing = get_ticket(session, row.ticket_id)
    ahead = people_ahead(session, existing)
    return Issued(existing, False, ahead, estimate_for(session, existing.service, ahead,
                                                       existing.day))


def issuing_actor(session: Session, actor: Principal | None) -> issuing.Actor | None:
    """The facts about the caller that issuing needs (which sites it may issue into)."""
    if actor is None:
        return None
    sites = None
    if actor.role != "admin":
        from app.services.policy import site_ids_in_scope

        found = site_ids_in_scope(session, actor)
        sites = frozenset(found) if found is not None else None
    # Staff see the citizen in person (a counter, the front office): no phone code needed.
    in_person = actor.kind == "user" and actor.role in ("admin", "manager", "officer")
    return issuing.Actor(actor.user_id, actor.scope_key, sites, in_person=in_person)


def issue_ticket(
    ctx: Ctx,
    *,
    service_id: int,
    priority: str | None = None,
    idempotency_key: str | None = None,
    channel: str = "kiosk",
    sort_at: datetime | None = None,
    count_quota: bool = True,
    check_hours: bool = True,
    booking_id: int | None = None,
    transferred_from_id: int | None = None,
    note: str | None = None,
    phone_confirmed: bool = False,
) -> Issued:
    """Issue a ticket: idempotent per key, numbered gaplessly per service and site-local day.

    Gathers the facts, asks app/domain/issuing.decide_issue, writes what it decided. The hot
    path of the system; its statements live in issue_sql (see there for why)."""
    session = ctx.session
    request = issuing.IssueRequest(
        service_id=service_id, priority=priority, idempotency_key=idempotency_key,
        channel=channel, sort_at=sort_at, count_quota=count_quota, check_hours=check_hours,
        booking_id=booking_id, transferred_from_id=transferred_from_id, note=note,
        phone_confirmed=phone_confirmed)
    actor = ctx.actor
    ensure_can_issue(actor, service_id)
    claim = None
    fingerprint = issuing.priority_group(priority)
    if idempotency_key is not None and actor is not None and not isinstance(
            fingerprint, issuing.Refusal):
        claim = Claim(actor.scope_key, idempotency_key,
                                issuing.request_fingerprint(service_id, fingerprint), ctx.now)
    tickets = store(session)
    found = tickets.issue_facts(service_id, ctx.now, claim)
    if claim is not None and not found.claimed:
        return _issued_for_key(ctx, claim, request)
    facts, today = found.service, found.today
    held = None
    if facts is not None and issuing.needs_held_for_bookings(facts, request):
        from app.services.booking import held_for_bookings  # booking imports us

        service = get_service(session, service_id)
        assert today is not None
        held = held_for_bookings(session, service, service.agency.site, today.day, ctx.now)
    decided = issuing.decide_issue(facts, today, request, issuing_actor(session, actor),
                                   now=ctx.now, tracking_code=secrets.token_urlsafe(9),
                                   held_for_bookings=held)
    if isinstance(decided, issuing.Refusal):
        _refuse(session, decided, service_id, ctx.now)
    assert facts is not None and today is not None
    event = issued_event(facts, decided.priority, ctx.now)
    written = tickets.write_issue(decided)
    if written is None:
        # A racing issue took the last place between our read and our write.
        _refuse(session, issuing.Refusal("quota_exhausted"), service_id, ctx.now)
    issued = issued_view(decided, written, facts, today, event)
    issued.session = session
    ctx.emit(event)
    return issued


def _refuse(session: Session, refusal: issuing.Refusal, service_id: int, now: datetime
            ) -> NoReturn:
    """The refusal as an error, with the next opening time for the closed and quota ones."""
    if refusal.code == "not_found":
        raise NotFound("Layanan", "Service")
    if refusal.code == "service_closed":
        service = get_service(session, service_id)
        site = service.agency.site
        _, nxt = service_open_state(session, service, site, now)
        hint_id, hint_en = opening_hint(nxt, local_day(site, now))
        raise DomainError("service_closed", next_hint_id=hint_id, next_hint_en=hint_en,
                          next_opening=nxt.isoformat() if nxt else None)
    if refusal.code == "quota_exhausted":
        _quota_exhausted(session, service_id, now)
    raise DomainError(refusal.code, **refusal.details)


def priority_group(priority: str | None) -> str | None:
    group = issuing.priority_group(priority)
    if isinstance(group, issuing.Refusal):
        raise DomainError(group.code, **group.details)
    return group


def issued_event(facts: issuing.ServiceFacts, priority: str | None, now: datetime) -> Event:
    """ticket.issued, before the write: its ticket id and number are filled in after it (or,
    when it rides with the COMMIT, by the database)."""
    return Event(ev.TICKET_ISSUED, facts.site_id, {
        "ticket_id": 0, "number": "", "service_id": facts.id, "agency_id": facts.agency_id,
        "priority": priority is not None, "zone": facts.zone, "at": now.isoformat(),
    })


def issued_view(new: issuing.NewTicket, written: Written,
                facts: issuing.ServiceFacts, today: issuing.DayFacts, event: Event
                ) -> Issued:
    """The answer to an issue, from the values just written (no read back)."""
    row = TicketRow(
        id=written.id, site_id=new.site_id, agency_id=new.agency_id, service_id=new.service_id,
        day=new.day, seq=written.seq, number=written.number, status=new.status,
        priority=new.priority, channel=new.channel, issued_at=new.now, sort_at=new.sort_at,
        called_at=None, first_called_at=None, started_at=None, finished_at=None, call_count=0,
        counter_id=None, officer_id=None, tracking_code=new.tracking_code,
        transferred_from_id=new.transferred_from_id, booking_id=new.booking_id, note=new.note,
    )
    avg_minutes = waiting.average_service_minutes(today.recent_minutes,
                                                  float(facts.typical_minutes))
    estimate = waiting.estimate_wait_minutes(written.people_ahead, facts.open_counters,
                                             avg_minutes)
    event.data.update(ticket_id=written.id, number=written.number)
    return Issued(row, True, written.people_ahead, estimate)


@dataclass(frozen=True)
class TicketRow:
    """A ticket row just written, as plain values (every column of Ticket)."""

    id: int
    site_id: int
    agency_id: int
    service_id: int
    day: date
    seq: int
    number: str
    status: str
    priority: str | None
    channel: str
    issued_at: datetime
    sort_at: datetime
    called_at: datetime | None
    first_called_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    call_count: int
    counter_id: int | None
    officer_id: int | None
    tracking_code: str
    transferred_from_id: int | None
    booking_id: int | None
    note: str | None
    has_steps: bool = False
    queued_at: datetime | None = None


def _attach_ticket(session: Session, row: TicketRow) -> Ticket:
    """The ORM object for the row just written, without reading it back."""
    ticket = Ticket(**dataclasses.asdict(row))
    make_transient_to_detached(ticket)
    session.add(ticket)
    return ticket


def _quota_exhausted(session: Session, service_id: int, now: datetime,
                     day: date | None = None) -> NoReturn:
    service = get_service(session, service_id)
    site = service.agency.site
    lnow = local_now(site, now)
    day = day or lnow.date()
    # The next opening after today's hours, for the message.
    tomorrow = datetime.combine(lnow.date() + timedelta(days=1), datetime.min.time(),
                                tzinfo=lnow.tzinfo)
    _, nxt = service_open_state(session, service, site, tomorrow,
                                special_days(session, site.id, lnow.date()))
    if nxt is None and service.opening_hours is None:
        nxt = tomorrow
    hint_id, hint_en = opening_hint(nxt, day)
    raise DomainError("quota_exhausted", next_hint_id=hint_id, next_hint_en=hint_en,
                      next_opening=nxt.isoformat() if nxt else None)


def people_ahead(session: Session, ticket: Ticket) -> int:
    """Waiting tickets of the same service that will be called before this one."""
    if ticket.status != TicketStatus.WAITING.value:
        return 0
    return store(session).people_ahead(ticket)


def open_counter_count(session: Session, service_id: int) -> int:
    return store(session).open_counter_count(service_id)


def recent_service_minutes(session: Session, service_id: int, day: date) -> list[float]:
    return store(session).recent_service_minutes(service_id, day)


def estimate_for(session: Session, service: Service, ahead: int, day: date) -> int:
    if ahead == 0:
        return 0  # nobody ahead: no need to read the service times
    avg = waiting.average_service_minutes(
        recent_service_minutes(session, service.id, day), float(service.typical_minutes)
    )
    return waiting.estimate_wait_minutes(ahead, open_counter_count(session, service.id), avg)


# --- counters -------------------------------------------------------------------------------


def get_counter(session: Session, counter_id: int, *, lock: bool = False) -> Counter:
    counter = store(session).counter(counter_id, lock=lock)
    if counter is None:
        raise NotFound("Loket", "Counter")
    return counter


def current_ticket(session: Session, counter_id: int) -> Ticket | None:
    return store(session).current_ticket(counter_id)


def _change(ctx: Ctx, ticket: Ticket, action: Action, *, counter: Counter | None = None,
            note: str | None = None, duration: int | None = None) -> str:
    """Apply a transition, record its event row; return the old status."""
    old = ticket.status
    ticket.status = transition(old, action).value
    site = ticket.service.agency.site
    record_event(ctx, ticket, site, EVENT_TYPES[action], old,
                 counter_id=counter.id if counter else None, duration=duration, note=note)
    return old


def _counter_label(counter: Counter | CounterView) -> str:
    return str(counter.number)


@dataclass(frozen=True)
class AgencyView:
    name: str
    zone: str | None
    floor: str | None = None


@dataclass(frozen=True)
class CounterView:
    """A counter as a lean store read it (what the events about it need)."""

    id: int
    number: int
    name: str
    zone: str | None
    agency_id: int
    agency: AgencyView


@dataclass(frozen=True)
class TicketFacts:
    """What the events about a ticket say of it, as a lean store read it."""

    id: int
    number: str
    site_id: int
    agency_id: int
    service_id: int
    priority: str | None
    status: str
    counter_id: int | None


def called_event(ticket: TicketFacts, counter: CounterView, at: datetime) -> Event:
    """ticket.called for a lean call path (the same event as the reference path's)."""
    return _called_event(ticket, counter, at, recall=False)


def status_event(ticket: TicketRow | TicketFacts, old: str, at: datetime) -> Event:
    return _status_event(ticket, old, at)


def served_seconds(started_at: datetime | None, now: datetime) -> int | None:
    """The service time a finish ends (the finished event's duration)."""
    return None if started_at is None else int((now - started_at).total_seconds())


def wait_seconds(*, first_called_at: datetime | None, queued_at: datetime | None,
                 issued_at: datetime, now: datetime) -> int | None:
    """The wait a first call ends (the called event's duration); None when called before.
    A visit's later step waits from the moment the ticket joined that step's queue."""
    if first_called_at is not None:
        return None
    return int((now - (queued_at or issued_at)).total_seconds())


def _called_event(ticket: Ticket | TicketFacts, counter: Counter | CounterView, at: datetime, *,
                  recall: bool) -> Event:
    return Event(ev.TICKET_CALLED, ticket.site_id, {
        "ticket_id": ticket.id, "number": ticket.number, "counter": _counter_label(counter),
        "counter_id": counter.id, "counter_name": counter.name, "agency": counter.agency.name,
        "agency_id": ticket.agency_id, "service_id": ticket.service_id,
        "zone": counter.zone or counter.agency.zone, "at": at.isoformat(), "recall": recall,
        "priority": ticket.priority is not None,
        # What boards say, from the domain's rules, so no screen re-implements them.
        "announcement": speech.announcement(ticket.number, _counter_label(counter)),
        "announcement_en": speech.announcement_en(ticket.number, _counter_label(counter)),
        "clips": speech.clip_sequence(ticket.number, _counter_label(counter)),
        # Said once when calls pile up on a board.
        "announcement_short": speech.short_announcement(ticket.number, _counter_label(counter)),
        "clips_short": speech.short_clip_sequence(ticket.number, _counter_label(counter)),
    })


def _status_event(ticket: Ticket | TicketRow | TicketFacts, old: str, at: datetime) -> Event:
    return Event(ev.TICKET_STATUS, ticket.site_id, {
        "ticket_id": ticket.id, "number": ticket.number, "from": old, "status": ticket.status,
        "service_id": ticket.service_id, "agency_id": ticket.agency_id,
        "counter_id": ticket.counter_id, "at": at.isoformat(),
    })


def call_next(ctx: Ctx, counter: Counter) -> Ticket | None:
    """Call the next waiting ticket for this counter's services, by the priority policy."""
    session = ctx.session
    if not counter.is_open:
        raise DomainError("counter_closed")
    if counter.break_since is not None:
        raise DomainError("counter_on_break")
    busy = current_ticket(session, counter.id)
    if busy is not None:
        if busy.status == TicketStatus.SERVING.value:
            finish(ctx, busy, counter)
        else:
            raise DomainError("counter_busy", number=busy.number)
    service_ids = [s.id for s in counter.services if s.is_active]
    if not service_ids:
        return None
    site = counter.agency.site
    day = local_day(site, ctx.now)
    prio = store(session).queue_head(service_ids, day, priority=True)
    regular = store(session).queue_head(service_ids, day, priority=False)
    chosen = choose_next(prio, regular, priority_streak=counter.priority_streak,
                         max_consecutive_priority=site.max_consecutive_priority)
    if chosen is None:
        return None
    counter.priority_streak = next_streak(counter.priority_streak, chosen.priority is not None)
    _call(ctx, chosen, counter)
    return chosen


def _call(ctx: Ctx, ticket: Ticket, counter: Counter) -> None:
    first = ticket.first_called_at is None
    ticket.counter_id = counter.id
    ticket.officer_id = ctx.actor.user_id if ctx.actor else None
    ticket.called_at = ctx.now
    if first:
        ticket.first_called_at = ctx.now
    ticket.call_count += 1
    wait = wait_seconds(first_called_at=None if first else ticket.first_called_at,
                        queued_at=ticket.queued_at, issued_at=ticket.issued_at, now=ctx.now)
    # Every call writes the counter's row, even when nothing on it changes: the lean start
    # (app/db/call_sql.py) finds out this way that a ticket was called to the counter since
    # it read it.
    store(ctx.session).touch_counter(counter)
    _change(ctx, ticket, Action.CALL, counter=counter, duration=wait)
    if first and ticket.has_steps:
        visits.after_first_call(ctx, ticket)
    ctx.emit(_called_event(ticket, counter, ctx.now, recall=False))
    notify.on_called(ctx, ticket, counter)


def call_ticket(ctx: Ctx, ticket: Ticket, counter: Counter) -> Ticket:
    """Call a specific ticket (a held one being called back) to this counter."""
    if not counter.is_open:
        raise DomainError("counter_closed")
    if ticket.service_id not in {s.id for s in counter.services}:
        raise DomainError("counter_not_serving_service")
    busy = current_ticket(ctx.session, counter.id)
    if busy is not None and busy.id != ticket.id:
        raise DomainError("counter_busy", number=busy.number)
    _call(ctx, ticket, counter)
    return ticket


def _ticket_counter(ctx: Ctx, ticket: Ticket, action: Action | None = None) -> Counter:
    if action is not None:
        # A wrong transition (finish a waiting ticket) says so, not "not at your counter".
        transition(ticket.status, action)
    if ticket.counter_id is None:
        raise DomainError("ticket_not_at_counter")
    return get_counter(ctx.session, ticket.counter_id)


def recall(ctx: Ctx, ticket: Ticket) -> Ticket:
    counter = _ticket_counter(ctx, ticket, Action.RECALL)
    ticket.called_at = ctx.now
    ticket.call_count += 1
    _change(ctx, ticket, Action.RECALL, counter=counter)
    ctx.emit(_called_event(ticket, counter, ctx.now, recall=True))
    notify.on_called(ctx, ticket, counter)
    return ticket


def start(ctx: Ctx, ticket: Ticket) -> Ticket:
    counter = _ticket_counter(ctx, ticket, Action.START)
    ticket.started_at = ctx.now
    old = _change(ctx, ticket, Action.START, counter=counter)
    ctx.emit(_status_event(ticket, old, ctx.now))
    return ticket


def finish(ctx: Ctx, ticket: Ticket, counter: Counter | None = None) -> Ticket:
    counter = counter or _ticket_counter(ctx, ticket, Action.FINISH)
    duration = served_seconds(ticket.started_at, ctx.now)
    ticket.finished_at = ctx.now
    old = _change(ctx, ticket, Action.FINISH, counter=counter, duration=duration)
    purge.forget_booking_contact(ctx.session, ticket.booking_id)  # the survey stays anonymous
    ctx.emit(_status_event(ticket, old, ctx.now))
    notify.on_finished(ctx, ticket)
    visits.after_finish(ctx, ticket)  # a visit moves on to its next step
    return ticket


def no_show(ctx: Ctx, ticket: Ticket) -> Ticket:
    counter = _ticket_counter(ctx, ticket, Action.NO_SHOW)
    ticket.finished_at = ctx.now
    old = _change(ctx, ticket, Action.NO_SHOW, counter=counter)
    purge.forget_booking_contact(ctx.session, ticket.booking_id)
    ctx.emit(_status_event(ticket, old, ctx.now))
    visits.after_no_show(ctx, ticket)
    return ticket


def hold(ctx: Ctx, ticket: Ticket, note: str | None = None) -> Ticket:
    """Put a ticket aside (the citizen fetches a document); it stays with this counter."""
    counter = _ticket_counter(ctx, ticket, Action.HOLD)
    old = _change(ctx, ticket, Action.HOLD, counter=counter, note=note)
    ctx.emit(_status_event(ticket, old, ctx.now))
    return ticket


def resume(ctx: Ctx, ticket: Ticket) -> Ticket:
    """Send a held ticket back to its queue, at its original place."""
    old = _change(ctx, ticket, Action.RESUME)
    ticket.counter_id = None
    ctx.emit(_status_event(ticket, old, ctx.now))
    return ticket


def staff_ticket(ctx: Ctx, ticket_id: int) -> Ticket:
    """One ticket for staff: officers see their site's, managers their agencies'."""
    actor = require_role(ctx.actor, *STAFF_ROLES)  # before the lookup: no probing ids
    ticket = get_ticket(ctx.session, ticket_id)
    ensure_can_see_ticket(ctx.session, actor, ticket)
    return ticket


def transfer(ctx: Ctx, ticket: Ticket, *, service_id: int, note: str | None = None) -> Ticket:
    """Close this ticket as transferred and queue the citizen for another service."""
    target = get_service(ctx.session, service_id)
    if not target.is_active:
        raise DomainError("service_inactive")
    if target.site_id != ticket.site_id:
        raise DomainError("forbidden")
    counter = _ticket_counter(ctx, ticket, Action.TRANSFER)
    old = _change(ctx, ticket, Action.TRANSFER, counter=counter, note=note)
    purge.forget_booking_contact(ctx.session, ticket.booking_id)
    ticket.finished_at = ctx.now
    issued = issue_ticket(
        ctx, service_id=target.id, priority=ticket.priority, channel="transfer",
        sort_at=ticket.sort_at, count_quota=False, check_hours=False,
        transferred_from_id=ticket.id, note=note,
    )
    new = issued.ticket
    # The new ticket is tracked with the citizen's original code; the old one gets a fresh one.
    old_code = ticket.tracking_code
    ticket.tracking_code = secrets.token_urlsafe(9)
    store(ctx.session).flush()
    new.tracking_code = old_code
    visits.after_transfer(ctx, ticket, new)
    ctx.emit(Event(ev.TICKET_TRANSFERRED, ticket.site_id, {
        "ticket_id": ticket.id, "number": ticket.number, "from": old, "status": ticket.status,
        "new_ticket_id": new.id, "new_number": new.number, "service_id": ticket.service_id,
        "to_service_id": target.id, "agency_id": ticket.agency_id,
        "to_agency_id": target.agency_id, "counter_id": counter.id, "at": ctx.now.isoformat(),
    }))
    return new


def cancel(ctx: Ctx, ticket: Ticket) -> Ticket:
    old = _change(ctx, ticket, Action.CANCEL)
    ctx.emit(_status_event(ticket, old, ctx.now))
    visits.after_cancel(ctx, ticket)
    return ticket


def close_out(ctx: Ctx, *, site_id: int | None = None, before_day: date | None = None,
              all_today: bool = False) -> int:
    """End of day: close out unserved tickets and close counters; returns tickets closed."""
    tickets = store(ctx.session)
    closed = 0
    for site in tickets.sites(site_id):
        today = local_day(site, ctx.now)
        cutoff = before_day or today
        stale = tickets.unfinished(site.id, cutoff, inclusive=all_today)
        for ticket in stale:
            _change(ctx, ticket, Action.CLOSE_OUT, note="tutup hari")
            visits.after_close_out(ctx, ticket)  # every open step of a visit, too
            closed += 1
        if stale:
            # One event for the whole close-out: hundreds of per-ticket events would overflow
            # every screen's queue at once; screens take a fresh snapshot instead.
            ctx.emit(Event(ev.CONFIG_CHANGED, site.id, {"entity": "day", "closed": len(stale)}))
        if all_today:
            for counter in tickets.open_counters_at(site.id):
                close_counter(ctx, counter)
    return closed


def open_counter(ctx: Ctx, counter: Counter, *, take_over: bool = False) -> Counter:
    actor = ctx.actor
    assert actor is not None
    if not counter.is_active:
        raise NotFound("Loket", "Counter")
    if counter.is_open and counter.officer_id not in (None, actor.user_id) and not take_over:
        other = store(ctx.session).user(counter.officer_id)
        name = (other.full_name or other.username) if other else "-"
        raise DomainError("counter_in_use", officer=name)
    previous = counter.officer_id
    counter.is_open = True
    counter.officer_id = actor.user_id
    counter.opened_at = ctx.now
    ctx.emit(Event(ev.COUNTER_CHANGED, counter.agency.site_id, {
        "counter_id": counter.id, "counter": _counter_label(counter), "name": counter.name,
        "agency_id": counter.agency_id, "is_open": True, "zone": counter.zone,
        "taken_over_from": previous if previous not in (None, actor.user_id) else None,
    }))
    return counter


def close_counter(ctx: Ctx, counter: Counter) -> Counter:
    if counter.break_since is not None:
        from app.services.counter_break import end_break

        end_break(ctx, counter, emit=False)  # the break's time ends with the counter
    counter.is_open = False
    counter.officer_id = None
    counter.priority_streak = 0
    ctx.emit(Event(ev.COUNTER_CHANGED, counter.agency.site_id, {
        "counter_id": counter.id, "counter": _counter_label(counter), "name": counter.name,
        "agency_id": counter.agency_id, "is_open": False, "zone": counter.zone,
    }))
    return counter


def first_of_transfers(session: Session, ticket: Ticket) -> Ticket | None:
    """The ticket the citizen was first given (the printed number) when this one came from
    transfers, else None. The tracking code moves with each transfer; the slip does not."""
    first = None
    seen = {ticket.id}
    current = ticket
    while current.transferred_from_id is not None and len(seen) < 20:
        prev = session.get(Ticket, current.transferred_from_id)
        if prev is None or prev.id in seen:
            break
        seen.add(prev.id)
        first = current = prev
    return first


def find_by_tracking(session: Session, code: str) -> Ticket:
    ticket = store(session).by_tracking(code)
    if ticket is None:
        raise NotFound("Tiket", "Ticket")
    return ticket


def has_survey(session: Session, ticket_id: int) -> bool:
    return store(session).has_survey(ticket_id)
