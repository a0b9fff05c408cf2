"""PostgreSQL's lean statements behind an officer's call-next and start (asyncio, autocommit).

The reference path (app/services/tickets.py through the ORM) spends most of a call-next in
SQLAlchemy: the counter with its agency, site and services, the current ticket, two locked queue
heads, the flush of ticket, event and counter, the user behind the token. Here a call-next is
two statements and a start two more, on the kiosk's asyncio connections
(app/db/pg_async.py, app/services/counter_calls.py decides):

  call_read   the user behind the token, the counter (with its row version, xmin), its agency,
              site and active services, the ticket at the counter now, the first few waiting
              tickets of its priority and regular lines, and whether a citizen's message could
              be due (a phone given for one of these services today);
  call_write  one statement, its own transaction: lock the counter if its row is still the
              version read, lock the served ticket if it is still served here, claim the first
              of the chosen line's candidates still waiting (FOR UPDATE SKIP LOCKED: a ticket
              another counter is claiming is skipped), finish the served ticket, call the
              claimed one, write the counter's priority streak and both events, and send the
              events' notifications (delivered only as it commits). Any guard failing: nothing
              is written and the reference path answers.

Every call on every path writes the counter's row (tickets._call touches it), so a counter
whose row version changed since the read may have a ticket called to it: the write refuses.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import psycopg

CANDIDATES = 4  # waiting tickets read per line: the claim takes the first still free

# One line's first waiting tickets, as JSON arrays (the partial indexes ix_ticket_head_* serve
# the literal predicates).
_LINE = """(SELECT json_agg(json_build_array(h.id, h.number, h.priority, h.agency_id,
                   h.service_id, h.site_id, h.first_called_at, h.queued_at, h.issued_at,
                   h.call_count, h.has_steps) ORDER BY h.sort_at, h.id)
            FROM (SELECT * FROM ticket t
                  WHERE t.service_id = ANY(sv.ids) AND t.day = %(day)s
                    AND t.status = 'waiting' AND t.priority IS {cond}
                  ORDER BY t.sort_at, t.id LIMIT %(k)s) h)"""

# A citizen's message may be due with this call (app/services/notify.py: on_called,
# _nearly_up, on_finished): a phone was given today for one of these services, and that ticket
# is one this call moves or {waiting} waits (the read does not know yet which ticket it will
# call, so it asks about every waiting one).
_MESSAGE_DUE = """EXISTS (SELECT 1 FROM ticket_contact tc
        WHERE tc.service_id = ANY({services}) AND tc.day = %(day)s AND tc.phone IS NOT NULL
          AND (tc.ticket_id = ANY({ids})
               OR ({waiting} EXISTS (SELECT 1 FROM ticket w WHERE w.id = tc.ticket_id
                                       AND w.status = 'waiting'))))"""

_CALL_READ = "".join(("""
SELECT u.role, u.username, u.agency_id, u.site_id, u.is_active, u.session_version,
       c.agency_id, c.is_active, c.is_open, c.break_since IS NOT NULL, c.officer_id,
       c.priority_streak, c.number, c.name, c.zone, c.xmin::text,
       a.name, a.zone, a.floor, a.site_id, s.timezone, s.max_consecutive_priority,
       sv.ids,
       cur.id, cur.status, cur.number, cur.service_id, cur.agency_id, cur.site_id,
       cur.priority, cur.started_at, cur.booking_id, cur.has_steps, cur.counter_id,
       """, _LINE.format(cond="NOT NULL"), """,
       """, _LINE.format(cond="NULL"), """,
       """, _MESSAGE_DUE.format(services="sv.ids", ids="ARRAY[cur.id]", waiting=""), """
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
  ORDER BY t.called_at DESC LIMIT 1) cur ON true
WHERE u.id = %(user_id)s
"""))

# The claim: the first candidate still as read (waiting, not called since) that no other counter
# is claiming, tried one after the other by primary key (coalesce stops at the first found, so
# the later ones are neither read nor locked). Written out per candidate rather than as one
# scan: a cached generic plan may otherwise read every waiting ticket through an index on
# status whose statistics are older than the morning's queue.
_CLAIMS = ",\n    ".join(
    f"""(SELECT t.id FROM ticket t WHERE t.id = (%(ids)s::int[])[{i}] AND t.status = 'waiting'
       AND t.call_count = (%(call_counts)s::int[])[{i}] FOR UPDATE SKIP LOCKED)"""  # noqa: S608
    for i in range(1, CANDIDATES + 1))  # i: an integer of ours, not input

_CALL_WRITE = "".join(("""
WITH c AS (
  SELECT id FROM counter WHERE id = %(counter_id)s AND xmin::text = %(counter_xmin)s
  FOR UPDATE
), cur AS (
  SELECT t.id FROM ticket t JOIN c ON t.counter_id = c.id
  WHERE t.id = %(cur_id)s AND t.status = 'serving'
  FOR UPDATE OF t
), pick AS (
  SELECT p.id, array_position(%(ids)s::int[], p.id) AS n
  FROM (SELECT coalesce(""", _CLAIMS, """) AS id) p
  WHERE p.id IS NOT NULL AND EXISTS (SELECT 1 FROM c)
    AND (%(cur_id)s::int IS NULL OR EXISTS (SELECT 1 FROM cur))
    AND NOT """, _MESSAGE_DUE.format(services="%(services)s::int[]",
                                     ids="%(ids)s::int[] || %(cur_id)s::int",
                                     waiting="NOT tc.ahead_sent AND"), """
), called AS (
  UPDATE ticket t SET status = %(called_status)s, counter_id = %(counter_id)s,
    officer_id = %(user_id)s, called_at = %(now)s,
    first_called_at = coalesce(t.first_called_at, %(now)s), call_count = t.call_count + 1
  FROM pick WHERE t.id = pick.id
  RETURNING t.id, t.number, t.service_id, t.agency_id, t.site_id, t.status, t.priority,
    t.channel, t.issued_at, t.called_at, t.counter_id, t.tracking_code,
    t.transferred_from_id, t.day, t.seq, t.sort_at, t.first_called_at, t.call_count,
    t.officer_id, t.booking_id, t.note, pick.n
), fin AS (
  UPDATE ticket t SET status = %(finished_status)s, finished_at = %(now)s
  FROM cur WHERE t.id = cur.id AND EXISTS (SELECT 1 FROM called)
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
    (%(waits)s::int[])[n] FROM called
), notified AS (
  SELECT pg_notify(%(bus_channel)s, p.payload) FROM (
    SELECT %(finish_payload)s::text AS payload, 1 AS o FROM fin
    UNION ALL
    SELECT %(payloads)s::json ->> (n - 1), 2 FROM called) p
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
    version: str
    agency_name: str
    agency_zone: str | None
    agency_floor: str | None
    site_id: int
    timezone: str
    max_consecutive_priority: int | None
    service_ids: list[int]
    served: Served | None
    priority_line: list[Candidate]
    regular_line: list[Candidate]
    message_due: bool


def _ts(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _line(rows: list[list[Any]] | None) -> list[Candidate]:
    return [Candidate(r[0], r[1], r[2], r[3], r[4], r[5], _ts(r[6]), _ts(r[7]),
                      datetime.fromisoformat(r[8]), r[9], r[10]) for r in rows or ()]


async def call_read(conn: psycopg.AsyncConnection[Any], *, user_id: int, counter_id: int,
                    day: date) -> CounterRead | None:
    """None: no such user or counter."""
    row = await (await conn.execute(_CALL_READ, {"user_id": user_id, "counter_id": counter_id,
                                                 "day": day, "k": CANDIDATES},
                                    prepare=True)).fetchone()
    if row is None:
        return None
    served = Served(*row[23:34]) if row[23] is not None else None
    return CounterRead(UserRow(*row[0:6]), *row[6:23], served, _line(row[34]), _line(row[35]),
                       bool(row[36]))


@dataclass(frozen=True)
class CallWrite:
    counter_id: int
    counter_version: str
    user_id: int
    now: datetime
    day: date
    hour: int
    weekday: int
    served_id: int | None
    finished_status: str
    finish_duration: int | None
    finish_payload: str | None
    candidates: list[Candidate]
    called_status: str
    waits: list[int | None]
    payloads: list[str | None]
    streak: int
    service_ids: list[int]
    bus_channel: str | None


async def call_write(conn: psycopg.AsyncConnection[Any], w: CallWrite) -> tuple[Any, ...] | None:
    """The called ticket's row (its columns, then its candidate's position from 1 and the
    count of notifications sent), or None: a guard failed and nothing was written."""
    params = {
        "counter_id": w.counter_id, "counter_xmin": w.counter_version, "user_id": w.user_id,
        "now": w.now, "day": w.day, "hour": w.hour, "weekday": w.weekday,
        "cur_id": w.served_id, "finished_status": w.finished_status,
        "finish_duration": w.finish_duration, "finish_payload": w.finish_payload,
        "ids": [c.id for c in w.candidates], "call_counts": [c.call_count for c in w.candidates],
        "called_status": w.called_status, "waits": w.waits,
        # One JSON text, not a text[]: psycopg escapes an array's quoted items with a regular
        # expression per quote, a sixth of the whole request's CPU with four event payloads.
        "payloads": json.dumps(w.payloads),
        "streak": w.streak, "services": w.service_ids, "bus_channel": w.bus_channel,
    }
    return await (await conn.execute(_CALL_WRITE, params, prepare=True)).fetchone()


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

