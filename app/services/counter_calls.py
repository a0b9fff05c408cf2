"""An officer's call-next and start on PostgreSQL, on an asyncio connection: two round trips each.

These two requests are a counter's whole working loop (call-next also finishes the ticket
served before). On the reference path (tickets.call_next / tickets.start through the ORM, in a
pool thread) a call-next + start pair cost about 23 ms of server CPU, most of it SQLAlchemy.
Here the store (app/db/call_sql.py) takes the reference path's locks and reads everything in
one round trip, and writes and commits in one more; the decisions are the same functions the
reference path calls:
  - who asks: principal.session_stands on the user row, policy.ensure_can_operate and
    policy.operator_conflict;
  - which line: app/domain/priority.choose_next and next_streak; the statuses:
    app/domain/tickets.transition;
  - the events: tickets.called_event / status_event, sent with the write's commit (or, on a bus
    that does not ride the database, published after it).
Whenever this store cannot answer exactly as the reference would (a refusal, whose message
needs more reads; a citizen's message that may be due, a visit's steps, a booking's contact,
nobody waiting, a database error before the write) it writes nothing, lets go of its locks and
returns None: the caller then runs the reference path, which answers.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from app.db.ticket_store import CallApply, CounterConnection, CounterRead, CounterStore
from app.domain.errors import DomainError
from app.domain.events import Event
from app.domain.priority import choose_next, next_streak
from app.domain.tickets import Action, TicketStatus, transition
from app.services import policy, principal, tickets
from app.services.context import Principal

# Counter id -> its site's time zone, as last read: a hint only (checked on every read; a
# miss costs one more read).
_TZ_HINT: dict[int, str] = {}


@dataclass(frozen=True)
class Done:
    ticket: tickets.TicketRow
    events: list[Event]
    notified: bool  # the events went out with the write's commit
    actor: Principal


def _actor(cred: principal.StaffCredential, user: Any) -> Principal | None:
    if not principal.session_stands(cred.data, is_active=user.is_active,
                                    session_version=user.session_version):
        return None
    return principal.principal_of(cred.user_id, user.role, user.username, user.agency_id,
                                  user.site_id)


def _may_operate(actor: Principal, agency_id: int) -> bool:
    try:
        policy.ensure_can_operate(actor, agency_id)
    except DomainError:
        return False
    return True


def _payload(channel: tuple[str, str] | None, event: Event) -> str | None:
    return None if channel is None else channel[1] + event.to_json()


async def call_next(counters: CounterStore, cred: principal.StaffCredential, *,
                    counter_id: int, now: datetime, channel: tuple[str, str] | None
                    ) -> Done | None:
    """Call the counter's next ticket (finishing the one it serves), or None when the
    reference path must answer. `channel`: the bus's (channel, stamp) for events sent with the
    write, or None (the caller publishes them after it)."""
    async with counters.connection() as conn:
        if conn is None:
            return None
        tz = _TZ_HINT.get(counter_id)
        local = now.astimezone(ZoneInfo(tz)) if tz else now
        read = await conn.call_lock(user_id=cred.user_id, counter_id=counter_id,
                                    day=local.date())
        if read is not None and read.timezone != tz:
            # Learnt the site's zone (or it changed): read again, for the site's own day.
            await conn.rollback()
            tz = _TZ_HINT[counter_id] = read.timezone
            read = await conn.call_lock(user_id=cred.user_id, counter_id=counter_id,
                                        day=now.astimezone(ZoneInfo(tz)).date())
            if read is not None and read.timezone != tz:
                read = None
        if read is None:
            return None
        done = await _call(conn, read, cred, counter_id=counter_id, now=now, channel=channel)
        if done is None:
            await conn.rollback()  # the reference decides (and waits for no lock of ours)
        return done


async def _call(conn: CounterConnection, read: CounterRead, cred: principal.StaffCredential, *,
                counter_id: int, now: datetime, channel: tuple[str, str] | None) -> Done | None:
    """Decide the call from what call_lock read and write it; None: the reference decides."""
    if not read.is_active or not read.is_open or read.on_break:
        return None
    actor = _actor(cred, read.user)
    if (actor is None or not _may_operate(actor, read.agency_id)
            or policy.operator_conflict(actor, is_open=read.is_open,
                                        officer_id=read.officer_id)):
        return None
    if read.message_due or not read.service_ids:
        return None
    served = read.served
    finish_event, finished, finish_duration = None, TicketStatus.DONE.value, None
    if served is not None:
        if (served.status != TicketStatus.SERVING.value or served.booking_id is not None
                or served.has_steps):
            return None  # busy (a refusal), or a finish with more to do than this store
        finished = transition(served.status, Action.FINISH).value
        finish_duration = tickets.served_seconds(served.started_at, now)
        finish_event = tickets.status_event(tickets.TicketFacts(
            served.id, served.number, served.site_id, served.agency_id, served.service_id,
            served.priority, finished, counter_id), served.status, now)
    chosen = choose_next(read.priority_head, read.regular_head,
                         priority_streak=read.priority_streak,
                         max_consecutive_priority=read.max_consecutive_priority)
    if chosen is None:
        return None  # nobody waits (the reference finishes the served ticket, answers 204)
    if chosen.has_steps or not _may_operate(actor, chosen.agency_id):
        return None  # a visit's step, or a refusal: the reference takes it from here
    called = transition(TicketStatus.WAITING, Action.CALL).value
    counter = tickets.CounterView(counter_id, read.number, read.name, read.zone,
                                  read.agency_id, tickets.AgencyView(
                                      read.agency_name, read.agency_zone, read.agency_floor))
    event = tickets.called_event(tickets.TicketFacts(
        chosen.id, chosen.number, chosen.site_id, chosen.agency_id, chosen.service_id,
        chosen.priority, called, counter_id), counter, now)
    site_now = now.astimezone(ZoneInfo(read.timezone))
    row = await conn.call_apply(CallApply(
        counter_id=counter_id, user_id=cred.user_id, now=now, day=site_now.date(),
        hour=site_now.hour, weekday=site_now.isoweekday(),
        served_id=served.id if served is not None else None, finished_status=finished,
        finish_duration=finish_duration,
        finish_payload=_payload(channel, finish_event) if finish_event else None,
        ticket_id=chosen.id, called_status=called,
        wait=tickets.wait_seconds(first_called_at=chosen.first_called_at,
                                  queued_at=chosen.queued_at, issued_at=chosen.issued_at,
                                  now=now),
        payload=_payload(channel, event),
        streak=next_streak(read.priority_streak, chosen.priority is not None),
        service_ids=read.service_ids, bus_channel=channel[0] if channel else None))
    if row is None:
        return None  # a citizen's message became due meanwhile: nothing written
    ticket = tickets.TicketRow(
        id=row[0], site_id=row[4], agency_id=row[3], service_id=row[2], day=row[13],
        seq=row[14], number=row[1], status=row[5], priority=row[6], channel=row[7],
        issued_at=row[8], sort_at=row[15], called_at=row[9], first_called_at=row[16],
        started_at=None, finished_at=None, call_count=row[17], counter_id=row[10],
        officer_id=row[18], tracking_code=row[11], transferred_from_id=row[12],
        booking_id=row[19], note=row[20])
    return Done(ticket, [*([finish_event] if finish_event else []), event],
                channel is not None, actor)


async def start(counters: CounterStore, cred: principal.StaffCredential, *, ticket_id: int,
                now: datetime, channel: tuple[str, str] | None) -> Done | None:
    """Start serving a called ticket, or None when the reference path must answer."""
    async with counters.connection() as conn:
        if conn is None:
            return None
        read = await conn.start_read(user_id=cred.user_id, ticket_id=ticket_id)
        if read is None or read.has_steps:
            return None  # no such ticket or user; a visit's steps are in the answer
        actor = _actor(cred, read.user)
        t = tickets.TicketRow(*read.ticket[:1], site_id=read.ticket[4],
                              agency_id=read.ticket[3], service_id=read.ticket[2],
                              day=read.ticket[13], seq=read.ticket[14], number=read.ticket[1],
                              status=read.ticket[5], priority=read.ticket[6],
                              channel=read.ticket[7], issued_at=read.ticket[8],
                              sort_at=read.ticket[15], called_at=read.ticket[9],
                              first_called_at=read.ticket[16], started_at=None,
                              finished_at=None, call_count=read.ticket[17],
                              counter_id=read.ticket[10], officer_id=read.ticket[18],
                              tracking_code=read.ticket[11],
                              transferred_from_id=read.ticket[12],
                              booking_id=read.ticket[19], note=read.ticket[20])
        if (actor is None or t.counter_id is None or read.counter_agency_id is None
                or read.counter_version is None
                or not _may_operate(actor, t.agency_id)
                or not _may_operate(actor, read.counter_agency_id)
                or policy.operator_conflict(actor, is_open=bool(read.counter_is_open),
                                            officer_id=read.counter_officer_id)):
            return None
        try:
            to = transition(t.status, Action.START).value
        except DomainError:
            return None  # the reference refuses, with its message
        after = dataclasses.replace(t, status=to, started_at=now)
        event = tickets.status_event(after, t.status, now)
        site_now = now.astimezone(ZoneInfo(read.timezone))
        row = await conn.start_write(
            ticket_id=t.id, counter_id=t.counter_id, counter_version=read.counter_version,
            user_id=cred.user_id, from_status=t.status, to_status=to, now=now,
            day=site_now.date(), hour=site_now.hour, weekday=site_now.isoweekday(),
            payload=_payload(channel, event), bus_channel=channel[0] if channel else None)
        if row is None:
            return None
        return Done(after, [event], channel is not None, actor)
