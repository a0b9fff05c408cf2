"""PostgreSQL's lean statements behind an officer's call-next and start (asyncio).

The reference path (app/services/tickets.py through the ORM) spends most of a call-next in
SQLAlchemy: the counter with its agency, site and services, the current ticket, two locked queue
heads, the flush of ticket, event and counter, the user behind the token. Here a call-next is
one short transaction of two round trips, and a start two autocommit statements, on the
kiosk's asyncio connections (app/db/pg_async.py; app/services/counter_calls.py decides):

  call_lock   BEGIN, lock the counter, then (a statement of its own, so its snapshot is taken
              once the lock is held) the user behind the token, the counter, its agency, site and
              active services, the ticket at the counter now (locked), the head of its priority
              line and of its regular line (each the first waiting ticket FOR UPDATE SKIP LOCKED:
              one another counter is calling is skipped, as on the reference path), and whether a
              citizen's message could be due: one round trip;
  call_apply  the decided call (finish the served ticket, call the chosen head, the counter's
              priority streak, both events and their notifications, delivered only as it
              commits), then COMMIT: one round trip;
  rollback    when the decision is the reference path's to make: nothing was written.

The locks are the reference path's (the counter first), so both paths serialise on the counter
and the line heads the same way; a guard in the apply still refuses a message that became due.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import psycopg

# One line's head: its first waiting ticket that no other transaction holds (the partial
# indexes ix_ticket_head_* serve the literal predicates).
_HEAD = """LEFT JOIN LATERAL (
  SELECT id, number, priority, agency_id, service_id, site_id, first_called_at, queued_at,
         issued_at, call_count, has_steps
  FROM ticket t
  WHERE t.service_id = ANY(sv.ids) AND t.day = %(day)s AND t.status = 'waiting'
    AND t.priority IS {cond}
  ORDER BY t.sort_at, t.id LIMIT 1 FOR UPDATE SKIP LOCKED) {alias} ON true"""

# A citizen's message may be due with this call (app/services/notify.py: on_called,
# _nearly_up, on_finished): a phone was given today for one of these services, and that ticket
# is one this call moves or {waiting} waits.
_MESSAGE_DUE = """EXISTS (SELECT 1 FROM ticket_contact tc
        WHERE tc.service_id = ANY({services}) AND tc.day = %(day)s AND tc.phone IS NOT NULL
          AND (tc.ticket_id = ANY({ids})
               OR ({waiting} EXISTS (SELECT 1 FROM ticket w WHERE w.id = tc.ticket_id
                                       AND w.status = 'waiting'))))"""

_LOCK_COUNTER = "SELECT 1 FROM counter WHERE id = %(counter_id)s FOR UPDATE"

_CALL_LOCK = "".join(("""
SELECT u.role, u.username, u.agency_id, u.site_id, u.is_active, u.session_version,
       c.agency_id, c.is_active, c.is_open, c.break_since IS NOT NULL, c.officer_id,
       c.priority_streak, c.number, c.name, c.zone,
       a.name, a.zone, a.floor, a.site_id, s.timezone, s.max_consecutive_priority,
       sv.ids,
       cur.id, cur.status, cur.number, cur.service_id, cur.agency_id, cur.site_id,
       cur.priority, cur.started_at, cur.booking_id, cur.has_steps, cur.counter_id,
       ph.id, ph.number, ph.priority, ph.agency_id, ph.service_id, ph.site_id,
       ph.first_called_at, ph.queued_at, ph.issued_at, ph.call_count, ph.has_steps,
       rh.id, rh.number, rh.priority, rh.agency_id, rh.service_id, rh.site_id,
       rh.first_called_at, rh.queued_at, rh.issued_at, rh.call_count, rh.has_steps,
       """, _MESSAGE_DUE.format(services="sv.ids", ids="ARRAY[cur.id, ph.id, rh.id]",
                                waiting=""), """
FROM user_account u
JOIN counter c ON c.id = %(counter_id)s
JOIN agency a ON a.id = c.agency_id
JOIN site s ON s.id = a.site_id
CROSS JOIN LATERAL (
  SELECT coalesce(array_agg(cs.service_id ORDER BY cs.service_id), '{}') AS ids
  FROM counter_service cs JOIN service x ON x.id = cs.service_id
  WHERE cs.counter_id = c.id AND x.is_active) sv
LEFT JOIN LATERAL (
  SELECT * FROM ticket t WHERE t.counter_id = c.id AND t.status IN ('called', 'serving')
  ORDER BY t.called_at DESC LIMIT 1 FOR UPDATE) cur ON true
""", _HEAD.format(cond="NOT NULL", alias="ph"), """
""", _HEAD.format(cond="NULL", alias="rh"), """
WHERE u.id = %(user_id)s
"""))

_CALL_APPLY = "".join(("""
WITH called AS (
  UPDATE ticket t SET status = %(called_status)s, counter_id = %(counter_id)s,
    officer_id = %(user_id)s, called_at = %(now)s,
    first_called_at = coalesce(t.first_called_at, %(now)s), call_count = t.call_count + 1
  WHERE t.id = %(ticket_id)s
    AND NOT """, _MESSAGE_DUE.format(services="%(services)s::int[]",
                                     ids="ARRAY[%(ticket_id)s::int, %(cur_id)s::int]",
                                     waiting="NOT tc.ahead_sent AND"), """
  RETURNING t.id, t.number, t.service_id, t.agency_id, t.site_id, t.status, t.priority,
    t.channel, t.issued_at, t.called_at, t.counter_id, t.tracking_code,
    t.transferred_from_id, t.day, t.seq, t.sort_at, t.first_called_at, t.call_count,
    t.officer_id, t.booking_id, t.note
), fin AS (
  UPDATE ticket t SET status = %(finished_status)s, finished_at = %(now)s
  WHERE t.id = %(cur_id)s AND EXISTS (SELECT 1 FROM called)
  RETURNING t.id, t.site_id, t.agency_id, t.service_id, t.priority
), ctr AS (
  UPDATE counter SET priority_streak = %(streak)s
  WHERE id = %(counter_id)s AND EXISTS (SELECT 1 FROM called)
), ev AS (
  INSERT INTO ticket_event (ticket_id, site_id, agency_id, service_id, counter_id, user_id,
    type, from_status, to_status, at, day, hour, weekday, priority, duration_seconds)
  SELECT id, site_id, agency_id, service_id, %(counter_id)s, %(user_id)s, 'finished',
    'serving', %(finished_status)s, %(now)s, %(day)s, %(hour)s, %(weekday)s,
    priority IS NOT NULL, %(finish_duration)s FROM fin
  UNION ALL
  SELECT id, site_id, agency_id, service_id, %(counter_id)s, %(user_id)s, 'called',
    'waiting', status, %(now)s, %(day)s, %(hour)s, %(weekday)s, priority IS NOT NULL,
    %(wait)s FROM called
), notified AS (
  SELECT pg_notify(%(bus_channel)s, p.payload) FROM (
    SELECT %(finish_payload)s::text AS payload, 1 AS o FROM fin
    UNION ALL
    SELECT %(payload)s::text, 2 FROM called) p
  WHERE %(bus_channel)s::text IS NOT NULL
  ORDER BY p.o
)
SELECT called.*, (SELECT count(*) FROM notified) FROM called
"""))

_START_READ = """
SELECT u.role, u.username, u.agency_id, u.site_id, u.is_active, u.session_version,
       t.id, t.number, t.service_id, t.agency_id, t.site_id, t.status, t.priority, t.channel,
       t.issued_at, t.called_at, t.counter_id, t.tracking_code, t.transferred_from_id,
       t.day, t.seq, t.sort_at, t.first_called_at, t.call_count, t.officer_id,
       t.booking_id, t.note, t.has_steps,
       c.agency_id, c.is_open, c.officer_id, c.xmin::text, s.timezone
FROM user_account u
JOIN ticket t ON t.id = %(ticket_id)s
JOIN site s ON s.id = t.site_id
LEFT JOIN counter c ON c.id = t.counter_id
WHERE u.id = %(user_id)s
"""

_START_WRITE = """
WITH t AS (
  UPDATE ticket SET status = %(to_status)s, started_at = %(now)s
  WHERE id = %(ticket_id)s AND status = %(from_status)s AND counter_id = %(counter_id)s
    AND EXISTS (SELECT 1 FROM counter WHERE id = %(counter_id)s
                AND xmin::text = %(counter_xmin)s)
  RETURNING id, site_id, agency_id, service_id, priority
), ev AS (
  INSERT INTO ticket_event (ticket_id, site_id, agency_id, service_id, counter_id, user_id,
    type, from_status, to_status, at, day, hour, weekday, priority)
  SELECT id, site_id, agency_id, service_id, %(counter_id)s, %(user_id)s, 'started',
    %(from_status)s, %(to_status)s, %(now)s, %(day)s, %(hour)s, %(weekday)s,
    priority IS NOT NULL FROM t
), notified AS (
  SELECT pg_notify(%(bus_channel)s, %(payload)s) FROM t WHERE %(bus_channel)s::text IS NOT NULL
)
SELECT t.id, (SELECT count(*) FROM notified) FROM t
"""


@dataclass(frozen=True)
class UserRow:
    role: str
    username: str
    agency_id: int | None
    site_id: int | None
    is_active: bool
    session_version: int | None


@dataclass(frozen=True)
class Candidate:
    """A waiting ticket at the head of a line (what choose_next and the call's event need)."""

    id: int
    number: str
    priority: str | None
    agency_id: int
    service_id: int
    site_id: int
    first_called_at: datetime | None
    queued_at: datetime | None
    issued_at: datetime
    call_count: int
    has_steps: bool
    sort_at: datetime | None = None  # the line's order was the database's


@dataclass(frozen=True)
class Served:
    """The ticket at the counter now."""

    id: int
    status: str
    number: str
    service_id: int
    agency_id: int
    site_id: int
    priority: str | None
    started_at: datetime | None
    booking_id: int | None
    has_steps: bool
    counter_id: int


@dataclass(frozen=True)
class CounterRead:
    user: UserRow
    agency_id: int
    is_active: bool
    is_open: bool
    on_break: bool
    officer_id: int | None
    priority_streak: int
    number: int
    name: str
    zone: str | None
    agency_name: str
    agency_zone: str | None
    agency_floor: str | None
    site_id: int
    timezone: str
    max_consecutive_priority: int | None
    service_ids: list[int]
    served: Served | None
    priority_head: Candidate | None
    regular_head: Candidate | None
    message_due: bool


def _head(row: tuple[Any, ...]) -> Candidate | None:
    return None if row[0] is None else Candidate(*row)


async def call_lock(conn: psycopg.AsyncConnection[Any], *, user_id: int, counter_id: int,
                    day: date) -> CounterRead | None:
    """Begin the call's transaction and read under its locks; None: no such user or counter.
    The transaction stays open: call_apply commits it, rollback ends it."""
    params = {"user_id": user_id, "counter_id": counter_id, "day": day}
    async with conn.pipeline():
        await conn.execute("BEGIN")
        await conn.execute(_LOCK_COUNTER, params, prepare=True)
        cur = await conn.execute(_CALL_LOCK, params, prepare=True)
    row = await cur.fetchone()
    if row is None:
        return None
    served = Served(*row[22:33]) if row[22] is not None else None
    return CounterRead(UserRow(*row[0:6]), *row[6:22], served, _head(row[33:44]),
                       _head(row[44:55]), bool(row[55]))


@dataclass(frozen=True)
class CallApply:
    counter_id: int
    user_id: int
    now: datetime
    day: date
    hour: int
    weekday: int
    served_id: int | None
    finished_status: str
    finish_duration: int | None
    finish_payload: str | None
    ticket_id: int
    called_status: str
    wait: int | None
    payload: str | None
    streak: int
    service_ids: list[int]
    bus_channel: str | None


async def call_apply(conn: psycopg.AsyncConnection[Any], w: CallApply
                     ) -> tuple[Any, ...] | None:
    """Write the decided call and commit: the called ticket's row (its columns, then the count
    of notifications sent), or None: a message became due, nothing was written (rolled back)."""
    params = {
        "counter_id": w.counter_id, "user_id": w.user_id, "now": w.now, "day": w.day,
        "hour": w.hour, "weekday": w.weekday, "cur_id": w.served_id,
        "finished_status": w.finished_status, "finish_duration": w.finish_duration,
        "finish_payload": w.finish_payload, "ticket_id": w.ticket_id,
        "called_status": w.called_status, "wait": w.wait, "payload": w.payload,
        "streak": w.streak, "services": w.service_ids, "bus_channel": w.bus_channel,
    }
    async with conn.pipeline():
        cur = await conn.execute(_CALL_APPLY, params, prepare=True)
        await conn.execute("COMMIT")
    return await cur.fetchone()


async def rollback(conn: psycopg.AsyncConnection[Any]) -> None:
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        await conn.execute("ROLLBACK")


@dataclass(frozen=True)
class StartRead:
    user: UserRow
    ticket: tuple[Any, ...]  # the TicketRow columns, in its order up to `note`
    has_steps: bool
    counter_agency_id: int | None
    counter_is_open: bool | None
    counter_officer_id: int | None
    counter_version: str | None
    timezone: str


async def start_read(conn: psycopg.AsyncConnection[Any], *, user_id: int, ticket_id: int
                     ) -> StartRead | None:
    row = await (await conn.execute(_START_READ, {"user_id": user_id, "ticket_id": ticket_id},
                                    prepare=True)).fetchone()
    if row is None:
        return None
    return StartRead(UserRow(*row[0:6]), tuple(row[6:27]), bool(row[27]), *row[28:33])


async def start_write(conn: psycopg.AsyncConnection[Any], *, ticket_id: int, counter_id: int,
                      counter_version: str, user_id: int, from_status: str, to_status: str,
                      now: datetime, day: date, hour: int, weekday: int,
                      payload: str | None, bus_channel: str | None) -> tuple[Any, ...] | None:
    """(ticket id, notifications sent), or None: the ticket or its counter changed since the
    read, nothing was written."""
    params = {"ticket_id": ticket_id, "counter_id": counter_id,
              "counter_xmin": counter_version, "user_id": user_id,
              "from_status": from_status, "to_status": to_status, "now": now, "day": day,
              "hour": hour, "weekday": weekday, "payload": payload,
              "bus_channel": bus_channel}
    return await (await conn.execute(_START_WRITE, params, prepare=True)).fetchone()

