"""The statements behind a ticket issue, built once, with as few round trips as the engine allows.

An issue is the hot path of the whole system (every kiosk tap), and on PostgreSQL the day's
`service_day` row stays locked from the sequence bump to the commit: every kiosk of that service
waits for it. So the statements are prepared here once (no per-request statement building), and
on PostgreSQL the locked part is one pipelined round trip: one statement bumps the sequence and
writes ticket, event and idempotency key, and a second one (a fresh snapshot, so tickets that
committed while we waited for the lock are counted) counts the people ahead. The unit of work
(app/services/unit_of_work.py) then sends the notifications and commits.

A kiosk's issue on PostgreSQL usually takes a leaner way still (kiosk_read / kiosk_write, run by
app/services/kiosk_issue.py on asyncio connections in autocommit mode): one read-only statement,
one statement that claims the key and writes and commits the ticket, one count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import psycopg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from app.db.models import (
    Agency,
    Counter,
    IdempotencyKey,
    Service,
    ServiceDay,
    Site,
    SpecialDay,
    Ticket,
    TicketEvent,
    counter_service,
)
from app.domain import numbering
from app.domain.issuing import DayFacts, NewTicket, ServiceFacts

_s = Service.__table__.c
_a = Agency.__table__.c
_site = Site.__table__.c
_t = Ticket.__table__
_e = TicketEvent.__table__
_sd = ServiceDay.__table__
_k = IdempotencyKey.__table__


def _open_counters(service_id: Any) -> sa.Select[Any]:
    return (
        sa.select(sa.func.count())
        .select_from(counter_service.join(Counter, Counter.id == counter_service.c.counter_id))
        # A counter on break calls nobody: it does not shorten the wait.
        .where(counter_service.c.service_id == service_id, Counter.is_open.is_(True),
               Counter.break_since.is_(None))
    )


# Counters open now for a service (the waiting estimate divides by it).
OPEN_COUNTERS = _open_counters(sa.bindparam("service_id"))

SERVICE_FACTS = (
    sa.select(
        _s.id, _s.site_id, _s.agency_id, _s.prefix, _s.daily_quota, _s.typical_minutes,
        _s.opening_hours, _s.booking_enabled, _s.is_active, _a.is_active.label("agency_active"),
        _a.zone, _site.timezone,
        _open_counters(_s.id).scalar_subquery().label("open_counters"), _s.priority_sick,
        _s.requires_phone_otp,
    )
    .select_from(Service.__table__.join(Agency.__table__, _a.id == _s.agency_id)
                 .join(Site.__table__, _site.id == _a.site_id))
    .where(_s.id == sa.bindparam("service_id"))
)

# The service's last 20 real service times of the day, in seconds, newest first.
RECENT_SECONDS = (
    sa.select(_e.c.duration_seconds)
    .where(_e.c.service_id == sa.bindparam("service_id"), _e.c.day == sa.bindparam("day"),
           _e.c.type == "finished", _e.c.duration_seconds.is_not(None))
    .order_by(_e.c.id.desc())
    .limit(20)
)
_recent = RECENT_SECONDS.subquery()


class _comma_joined(FunctionElement[str]):
    """string_agg(x, ',') / group_concat(x, ','): like func.aggregate_strings, but with the
    separator written into the SQL (aggregate_strings binds it at execution, which the raw
    pipelined statements of this module cannot use)."""

    type = sa.String()
    inherit_cache = True


@compiles(_comma_joined, "postgresql")
def _comma_joined_pg(element: _comma_joined, compiler: Any, **kw: Any) -> str:
    return f"string_agg({compiler.process(element.clauses, **kw)}, ',')"


@compiles(_comma_joined)
def _comma_joined_default(element: _comma_joined, compiler: Any, **kw: Any) -> str:
    return f"group_concat({compiler.process(element.clauses, **kw)}, ',')"


# The last 20 real service times of the day, as "s1,s2,...".
_RECENT = sa.select(
    _comma_joined(sa.cast(_recent.c.duration_seconds, sa.String))
).scalar_subquery().label("recent")


def _special(site_id: Any) -> sa.Label[Any]:
    """Today's special hours at the site (a holiday closes the mall)."""
    return (sa.select(SpecialDay.ranges)
            .where(SpecialDay.site_id == site_id, SpecialDay.day == sa.bindparam("day"))
            .scalar_subquery().label("special"))


def _quota_used(service_id: Any) -> sa.Label[Any]:
    """The day's quota places used so far (no row yet: none)."""
    return sa.func.coalesce(
        sa.select(_sd.c.quota_used)
        .where(_sd.c.service_id == service_id, _sd.c.day == sa.bindparam("day"))
        .scalar_subquery(), 0).label("quota_used")


DAY_FACTS = sa.select(_special(sa.bindparam("site_id")), _RECENT,
                      _quota_used(sa.bindparam("service_id")))
# Service and day in one statement, when the site's time zone (hence its date) is known.
SERVICE_AND_DAY_FACTS = SERVICE_FACTS.add_columns(_special(_s.site_id), _RECENT,
                                                  _quota_used(_s.id))
_DAY_COLUMNS = 3  # the columns SERVICE_AND_DAY_FACTS adds to SERVICE_FACTS

# Service id -> its site's time zone, as last read: a hint only (checked on every read).
_TZ_HINT: dict[int, str] = {}


def _day_facts(local_now: datetime, special: list[list[str]] | None, recent: str | None,
               quota_used: int) -> DayFacts:
    ranges = None if special is None else [
        (time.fromisoformat(a), time.fromisoformat(b)) for a, b in special]
    minutes = [int(s) / 60 for s in recent.split(",")] if recent else []
    return DayFacts(local_now, ranges, minutes, int(quota_used))


@dataclass(frozen=True)
class Claim:
    """An Idempotency-Key to claim: the first request with it inserts the row; a racing twin
    blocks on that row until the first commits, then finds it taken."""

    scope: str
    key: str
    request_hash: str
    now: datetime

    def params(self) -> dict[str, Any]:
        return {"scope": self.scope, "key": self.key, "hash": self.request_hash,
                "now": self.now}


def _claim_statement(dialect: Any) -> sa.Insert:
    return (
        dialect.insert(_k)
        .values(scope=sa.bindparam("scope"), key=sa.bindparam("key"),
                request_hash=sa.bindparam("hash"), ticket_id=None, created_at=sa.bindparam("now"))
        .on_conflict_do_nothing(index_elements=["scope", "key"])
        .returning(_k.c.key)
    )


CLAIM = {"sqlite": _claim_statement(sqlite), "postgresql": _claim_statement(postgresql)}


@dataclass(frozen=True)
class Facts:
    claimed: bool  # False: the key was already taken (a retry)
    service: ServiceFacts | None  # None: no such service
    today: DayFacts | None


def pg_sql(stmt: sa.ClauseElement) -> tuple[str, dict[str, Any]]:
    """A Core statement as psycopg SQL, to send in a pipeline on the driver connection, with
    the values of its literal parameters ("finished", None...)."""
    compiled = stmt.compile(dialect=postgresql.psycopg.dialect())
    return str(compiled), dict(compiled.params)


_PG_CLAIM = pg_sql(CLAIM["postgresql"])
_PG_SERVICE_FACTS = pg_sql(SERVICE_FACTS)
_PG_SERVICE_AND_DAY_FACTS = pg_sql(SERVICE_AND_DAY_FACTS)


Step = tuple[str, dict[str, Any]]  # one pipelined statement and its parameters


def _first_read_steps(claim: Claim | None, facts_stmt: Any, params: dict[str, Any]
                      ) -> list[Step]:
    """Claim the key (if any), then read the service: the first pipeline on PostgreSQL."""
    sql, fixed = (_PG_SERVICE_AND_DAY_FACTS if facts_stmt is SERVICE_AND_DAY_FACTS
                  else _PG_SERVICE_FACTS)
    steps = [] if claim is None else [(_PG_CLAIM[0], {**_PG_CLAIM[1], **claim.params()})]
    return [*steps, (sql, {**fixed, **params})]


def _first_reads(conn: sa.Connection, claim: Claim | None, facts_stmt: Any,
                 params: dict[str, Any]) -> tuple[bool, Any]:
    """Claim the key (if any) and read the service: one round trip on PostgreSQL."""
    if conn.dialect.name != "postgresql":
        claimed = claim is None or conn.execute(
            CLAIM[conn.dialect.name], claim.params()).first() is not None
        return claimed, conn.execute(facts_stmt, params).first()
    raw = conn.connection.driver_connection
    with raw.pipeline():
        curs = [raw.execute(sql, p, prepare=True)
                for sql, p in _first_read_steps(claim, facts_stmt, params)]
    claimed = claim is None or curs[0].fetchone() is not None
    return claimed, curs[-1].fetchone()


def _with_day(claimed: bool, row: Any, local: datetime, tz: str) -> Facts | None:
    """Facts from a SERVICE_AND_DAY_FACTS row read for the hinted zone `tz`; None when the
    site's zone is not that one any more (its date, hence the day read, may differ)."""
    facts = ServiceFacts(*row[:-_DAY_COLUMNS]) if row is not None else None
    if not claimed or facts is None:
        return Facts(claimed, facts, None)
    if facts.timezone != tz:
        return None
    return Facts(True, facts, _day_facts(local, *row[-_DAY_COLUMNS:]))


def read_facts(conn: sa.Connection, service_id: int, now: datetime,
               claim: Claim | None = None) -> Facts:
    """Claim the Idempotency-Key, and read the service, its site's date today, today's special
    hours and recent service times.

    One round trip when the site's time zone is already known in this process (the date to
    ask about depends on it); the zone comes back with the row, so a changed zone is noticed
    and the day read again."""
    tz = _TZ_HINT.get(service_id)
    if tz is not None:
        local = now.astimezone(ZoneInfo(tz))
        claimed, row = _first_reads(conn, claim, SERVICE_AND_DAY_FACTS,
                                    {"service_id": service_id, "day": local.date()})
        found = _with_day(claimed, row, local, tz)
        if found is not None:
            return found
        facts = ServiceFacts(*row[:-_DAY_COLUMNS])
    else:
        claimed, row = _first_reads(conn, claim, SERVICE_FACTS, {"service_id": service_id})
        facts = ServiceFacts(*row) if row is not None else None
        if not claimed or facts is None:
            return Facts(claimed, facts, None)
    _TZ_HINT[service_id] = facts.timezone
    local = now.astimezone(ZoneInfo(facts.timezone))
    day = conn.execute(DAY_FACTS, {"site_id": facts.site_id, "service_id": service_id,
                                   "day": local.date()}).one()
    return Facts(True, facts, _day_facts(local, *day))


@dataclass(frozen=True)
class Written:
    id: int
    seq: int
    number: str
    people_ahead: int


# --- PostgreSQL: one pipelined round trip under the row lock ---------------------------------

# Bump the day's sequence (refused past the quota), then write the ticket and its event. The
# statement around it names `go`: one row holding the new ticket's id, once it may go ahead.
_PG_SEQ_TICKET_EVENT = """
seq AS (
  INSERT INTO service_day AS sd (service_id, day, last_seq, quota_used)
  SELECT %(service_id)s, %(day)s, 1, %(used)s FROM go
  ON CONFLICT (service_id, day) DO UPDATE
    SET last_seq = sd.last_seq + 1, quota_used = sd.quota_used + %(used)s
    WHERE %(quota_limit)s::int IS NULL OR sd.quota_used < %(quota_limit)s::int
  RETURNING last_seq
), t AS (
  INSERT INTO ticket (id, site_id, agency_id, service_id, day, seq, number, status, priority,
                      channel, issued_at, sort_at, call_count, tracking_code, booking_id,
                      transferred_from_id, note)
  SELECT go.id, %(site_id)s, %(agency_id)s, %(service_id)s, %(day)s, seq.last_seq,
         %(prefix)s::text || %(number_sep)s::text
           || lpad(seq.last_seq::text, greatest(%(number_digits)s::int, length(seq.last_seq::text)),
                   '0'),
         %(status)s, %(priority)s, %(channel)s, %(now)s, %(sort_at)s, 0, %(tracking_code)s,
         %(booking_id)s, %(transferred_from_id)s, %(note)s
  FROM seq, go
  RETURNING id, seq, number
), e AS (
  INSERT INTO ticket_event (ticket_id, site_id, agency_id, service_id, user_id, type,
                            to_status, at, day, hour, weekday, priority, note)
  SELECT t.id, %(site_id)s, %(agency_id)s, %(service_id)s, %(user_id)s, %(event_type)s, %(status)s,
         %(now)s, %(day)s, %(hour)s, %(weekday)s, %(is_priority)s, %(note)s
  FROM t
)"""
_NEXT_TICKET_ID = "SELECT nextval(pg_get_serial_sequence('ticket', 'id')) AS id"

# The key was claimed earlier in this transaction (read_facts): point it at the ticket.
_PG_WRITE = "WITH go AS (" + _NEXT_TICKET_ID + "), " + _PG_SEQ_TICKET_EVENT + """, k AS (
  UPDATE idempotency_key SET ticket_id = t.id FROM t
  WHERE scope = %(idem_scope)s AND key = %(idem_key)s
), undo AS (
  -- No ticket (quota used up): give the key back, so this transaction may commit as it is.
  DELETE FROM idempotency_key
  WHERE scope = %(idem_scope)s AND key = %(idem_key)s AND NOT EXISTS (SELECT 1 FROM seq)
)
SELECT id, seq, number FROM t
"""

# The ticket.issued notification of ticket `t`, its id and number filled in from the row.
_ISSUED_PAYLOAD = """%(bus_stamp)s || jsonb_set(jsonb_set(%(bus_event)s::jsonb,
         '{data,ticket_id}', to_jsonb(t.id)), '{data,number}', to_jsonb(t.number))::text"""

# The kiosk's write (kiosk_write): one statement, committed on its own (autocommit), so the
# day's row lock is held for this statement only. It claims the Idempotency-Key first, as the
# reference path does (the same lock order, or a twin on each path would deadlock): `go` reads
# the key's insert, so the day's row is only asked for once the key is ours; a twin holding the
# key makes this statement wait, then fail and undo everything. The key points at the ticket id
# drawn at the start; if no ticket follows (the quota ran out), that reference fails at the end
# of the statement and the whole statement is undone too. Either way: no gap, no second ticket,
# and the reference path then answers.
_PG_KIOSK_WRITE = "WITH tid AS (" + _NEXT_TICKET_ID + """), k AS (
  INSERT INTO idempotency_key (scope, key, request_hash, ticket_id, created_at)
  SELECT %(idem_scope)s, %(idem_key)s, %(idem_hash)s, tid.id, %(now)s
  FROM tid WHERE %(idem_key)s::varchar IS NOT NULL
  RETURNING ticket_id
), go AS (
  SELECT tid.id FROM tid
  WHERE %(idem_key)s::varchar IS NULL OR EXISTS (SELECT 1 FROM k)
), """ + _PG_SEQ_TICKET_EVENT + """, n AS (
  SELECT pg_notify(%(bus_channel)s, """ + _ISSUED_PAYLOAD + """)
  FROM t WHERE %(bus_channel)s::text IS NOT NULL
)
SELECT t.id, t.seq, t.number, (SELECT count(*) FROM n) FROM t
"""

# Waiting tickets called before a waiting ticket (named by its tracking code, so the statement
# also runs in the write's own pipeline, before Python knows the new ticket's id). Within one
# service and day the sequence is the issue order (taken under the day's row lock); the ticket
# itself is left out by its code (a visit's ticket waits in later services' queues with the seq
# of its first). Priority
# tickets wait behind earlier priority tickets only; regular ones behind every priority ticket
# and earlier regular ones (app/domain/priority.py calls priority first). Run in a snapshot
# taken after the write: tickets that committed while it waited for the day's row are counted.
_tc = _t.c
_mine = _t.alias("mine")
_MY_SEQ = sa.select(_mine.c.seq).where(_mine.c.tracking_code == sa.bindparam("tracking_code")
                                       ).scalar_subquery()


def _ahead(priority: bool, my_seq: Any) -> sa.Select[Any]:
    earlier = sa.or_(_tc.sort_at < sa.bindparam("sort_at"),
                     sa.and_(_tc.sort_at == sa.bindparam("sort_at"), _tc.seq < my_seq))
    cond = (sa.and_(_tc.priority.is_not(None), earlier) if priority
            else sa.or_(_tc.priority.is_not(None), earlier))
    return sa.select(sa.func.count()).where(
        _tc.service_id == sa.bindparam("service_id"), _tc.day == sa.bindparam("day"),
        _tc.status == sa.literal_column("'waiting'"),
        _tc.tracking_code != sa.bindparam("tracking_code"), cond)


# For a ticket already read (its seq known), and for one just written in the same pipeline.
_AHEAD = {p: _ahead(p, sa.bindparam("seq", type_=sa.Integer)) for p in (True, False)}
_PG_AHEAD = {p: pg_sql(_ahead(p, _MY_SEQ)) for p in (True, False)}


def _pg_ahead(new: NewTicket, params: dict[str, Any]) -> Step:
    sql, fixed = _PG_AHEAD[new.priority is not None]
    return sql, {**fixed, **params}


def _params(new: NewTicket) -> dict[str, Any]:
    return {
        "service_id": new.service_id, "day": new.day, "used": new.used,
        "quota_limit": new.quota_limit, "site_id": new.site_id, "agency_id": new.agency_id,
        "prefix": new.prefix, "priority": new.priority, "channel": new.channel, "now": new.now,
        "sort_at": new.sort_at, "tracking_code": new.tracking_code,
        "booking_id": new.booking_id, "transferred_from_id": new.transferred_from_id,
        "note": new.note, "user_id": new.user_id, "hour": new.hour, "weekday": new.weekday,
        "is_priority": new.priority is not None, "idem_scope": new.idem_scope,
        "idem_key": new.idem_key, "idem_hash": new.idem_hash, "status": new.status,
        "event_type": new.event_type, "number_sep": numbering.SEPARATOR,
        "number_digits": numbering.MIN_DIGITS,
    }


@dataclass(frozen=True)
class CommitWith:
    """Commit in the write's own round trip, sending this ticket.issued event (its ticket_id
    and number are filled in by the database) on the bus channel."""

    channel: str
    stamp: str
    event_json: str

    NONE: ClassVar[dict[str, None]] = {"bus_channel": None, "bus_stamp": None, "bus_event": None}

    def params(self) -> dict[str, str]:
        return {"bus_channel": self.channel, "bus_stamp": self.stamp,
                "bus_event": self.event_json}


def _written(row: Any, ahead: Any) -> Written | None:
    return None if row is None else Written(row[0], row[1], row[2], int(ahead[0]))


def _write_postgres(conn: sa.Connection, new: NewTicket) -> Written | None:
    """One round trip from the sequence bump to the people ahead (a pipeline); the unit of work
    commits right after."""
    raw = conn.connection.driver_connection
    params = _params(new)
    with raw.pipeline():
        curs = [raw.execute(sql, p, prepare=True)
                for sql, p in ((_PG_WRITE, params), _pg_ahead(new, params))]
    return _written(curs[0].fetchone(), curs[1].fetchone())


# --- The kiosk's issue on an asyncio connection in autocommit mode (kiosk_issue.py) ------------

# The device, whether its Idempotency-Key is taken already (a retry), and the service's facts,
# in one read-only statement. The key's scope is Principal.scope_key of the device.
_PG_KIOSK_READ = """
SELECT d.id, d.kind, d.name, d.site_id,
       d.is_active AND NOT EXISTS (SELECT 1 FROM site s WHERE s.id = d.site_id
                                   AND NOT s.is_active) AS is_active,
       EXISTS (SELECT 1 FROM idempotency_key k
               WHERE k.scope = 'device:' || d.id AND k.key = %(idem_key)s) AS retry,
       f.*
FROM device d LEFT JOIN (""" + _PG_SERVICE_AND_DAY_FACTS[0] + """) f ON true
WHERE d.token_hash = %(token_hash)s
"""


@dataclass(frozen=True)
class KioskRead:
    device: tuple[int, str, str, int | None, bool]  # id, kind, name, site_id, is_active
    retry: bool  # the Idempotency-Key is taken
    facts: Facts


async def kiosk_read(conn: psycopg.AsyncConnection[Any], *, token_hash: str, service_id: int,
                     idem_key: str | None, now: datetime) -> KioskRead | None:
    """None: no such device token, or this process does not know the site's zone yet, or it
    changed (the reference path, read_facts, finds out)."""
    tz = _TZ_HINT.get(service_id)
    if tz is None:
        return None
    local = now.astimezone(ZoneInfo(tz))
    params = {**_PG_SERVICE_AND_DAY_FACTS[1], "service_id": service_id, "day": local.date(),
              "token_hash": token_hash, "idem_key": idem_key}
    row = await (await conn.execute(_PG_KIOSK_READ, params, prepare=True)).fetchone()
    if row is None:
        return None
    service = row[6:] if row[6] is not None else None
    facts = _with_day(True, service, local, tz)
    return None if facts is None else KioskRead(row[:5], row[5], facts)


async def kiosk_write(conn: psycopg.AsyncConnection[Any], new: NewTicket,
                      commit: CommitWith | None) -> Written | None:
    """Write and commit the ticket (with its notification when `commit` names the channel),
    then count the people ahead; None when the quota is used up (nothing was written)."""
    params = {**_params(new), **(commit.params() if commit is not None else CommitWith.NONE)}
    row = await (await conn.execute(_PG_KIOSK_WRITE, params, prepare=True)).fetchone()
    if row is None:
        return None
    ahead = await (await conn.execute(*_pg_ahead(new, params), prepare=True)).fetchone()
    return _written(row, ahead)


# --- SQLite (and any other engine): one statement at a time -----------------------------------
# Writers are serial on SQLite anyway (BEGIN IMMEDIATE), so only the Python cost matters here.


def _upsert_seq(dialect: Any) -> sa.Insert:
    stmt = dialect.insert(_sd).values(
        service_id=sa.bindparam("service_id"), day=sa.bindparam("day"), last_seq=1,
        quota_used=sa.bindparam("used"),
    )
    return stmt.on_conflict_do_update(
        index_elements=["service_id", "day"],
        set_={"last_seq": _sd.c.last_seq + 1,
              "quota_used": _sd.c.quota_used + stmt.excluded.quota_used},
        where=sa.or_(sa.bindparam("quota_limit", type_=sa.Integer).is_(None),
                     _sd.c.quota_used < sa.bindparam("quota_limit", type_=sa.Integer)),
    ).returning(_sd.c.last_seq)


_UPSERT_SEQ = {"sqlite": _upsert_seq(sqlite), "postgresql": _upsert_seq(postgresql)}

_INSERT_TICKET = _t.insert().values(
    site_id=sa.bindparam("site_id"), agency_id=sa.bindparam("agency_id"),
    service_id=sa.bindparam("service_id"), day=sa.bindparam("day"), seq=sa.bindparam("seq"),
    number=sa.bindparam("number"), status=sa.bindparam("status"),
    priority=sa.bindparam("priority"),
    channel=sa.bindparam("channel"), issued_at=sa.bindparam("now"),
    sort_at=sa.bindparam("sort_at"), call_count=0, tracking_code=sa.bindparam("tracking_code"),
    booking_id=sa.bindparam("booking_id"), transferred_from_id=sa.bindparam("transferred_from_id"),
    note=sa.bindparam("note"),
).returning(_t.c.id)

_INSERT_EVENT = _e.insert().values(
    ticket_id=sa.bindparam("ticket_id"), site_id=sa.bindparam("site_id"),
    agency_id=sa.bindparam("agency_id"), service_id=sa.bindparam("service_id"),
    user_id=sa.bindparam("user_id"), type=sa.bindparam("event_type"),
    to_status=sa.bindparam("status"),
    at=sa.bindparam("now"), day=sa.bindparam("day"), hour=sa.bindparam("hour"),
    weekday=sa.bindparam("weekday"), priority=sa.bindparam("is_priority"),
    note=sa.bindparam("note"),
)

_SET_IDEM = (
    sa.update(_k)
    .where(_k.c.scope == sa.bindparam("idem_scope"), _k.c.key == sa.bindparam("idem_key"))
    .values(ticket_id=sa.bindparam("ticket_id"))
)

def count_ahead(conn: sa.Connection, *, service_id: int, day: date, sort_at: datetime,
                seq: int, tracking_code: str, priority: str | None) -> int:
    """Waiting tickets of the service that will be called before this waiting ticket."""
    return int(conn.execute(_AHEAD[priority is not None], {
        "service_id": service_id, "day": day, "sort_at": sort_at, "seq": seq,
        "tracking_code": tracking_code}).scalar_one())


def _write_generic(conn: sa.Connection, new: NewTicket) -> Written | None:
    params = _params(new)
    seq = conn.execute(_UPSERT_SEQ[conn.dialect.name], params).scalar()
    if seq is None:
        return None
    number = numbering.format_number(new.prefix, seq)
    params["seq"], params["number"] = seq, number
    ticket_id = conn.execute(_INSERT_TICKET, params).scalar_one()
    params["ticket_id"] = ticket_id
    conn.execute(_INSERT_EVENT, params)
    if new.idem_key is not None:
        conn.execute(_SET_IDEM, params)
    ahead = count_ahead(conn, service_id=new.service_id, day=new.day, sort_at=new.sort_at,
                        seq=seq, tracking_code=new.tracking_code, priority=new.priority)
    return Written(ticket_id, seq, number, ahead)


def write_ticket(conn: sa.Connection, new: NewTicket) -> Written | None:
    """Bump the day's sequence and write ticket, event and idempotency key; None when the quota
    is used up (no ticket)."""
    if conn.dialect.name == "postgresql":
        return _write_postgres(conn, new)
    return _write_generic(conn, new)
