"""The ticket store's issue write (app/db/issue_sql.py), on both engines.

PostgreSQL numbers and counts in its pipelined SQL, SQLite one statement at a time; both are
held to the same behaviour here: gapless numbers past three digits, people ahead by the priority
rule, the issued event row, the quota guard.
"""

from __future__ import annotations

import random
import secrets
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app.db import issue_sql
from app.db.models import ServiceDay, Site, Ticket
from app.domain.issuing import NewTicket
from app.services import tickets
from app.services.context import Ctx

WIB = ZoneInfo("Asia/Jakarta")


def _ctx(session, clock):
    return Ctx(session=session, now=clock())


def _new(world, service, clock, *, seq_day, priority=None, sort_at=None, used=1, limit=None):
    lnow = clock().astimezone(WIB)
    return NewTicket(
        site_id=world.site.id, agency_id=service.agency_id, service_id=service.id,
        prefix=service.prefix, day=seq_day, priority=priority, channel="kiosk", now=clock(),
        sort_at=sort_at or clock(), tracking_code=secrets.token_urlsafe(9), booking_id=None,
        transferred_from_id=None, note=None, used=used, quota_limit=limit, user_id=None,
        hour=lnow.hour, weekday=lnow.isoweekday(), idem_scope=None, idem_key=None)


def test_writer_numbers_past_three_digits_and_counts_people_ahead(session, clock, world):
    clock.set(datetime(2026, 11, 23, 3, 0, tzinfo=UTC))  # 10.00 WIB
    day = clock().astimezone(WIB).date()
    service = world.ktp
    session.add(ServiceDay(service_id=service.id, day=day, last_seq=995, quota_used=0))
    session.flush()
    rng = random.Random(7)
    conn = session.connection()
    queue: list[tuple[bool, datetime, int]] = []  # (priority, sort_at, seq) of those written
    numbers = []
    for i in range(12):
        clock.set(clock() + timedelta(seconds=rng.choice((0, 0, 5))))  # ties on sort_at too
        priority = rng.choice((None, None, "lansia"))
        # Some tickets queue at an earlier place (a transfer keeps its original time).
        sort_at = clock() - timedelta(minutes=30) if i % 5 == 4 else clock()
        written = issue_sql.write_ticket(
            conn, _new(world, service, clock, seq_day=day, priority=priority, sort_at=sort_at))
        assert written is not None
        assert written.seq == 996 + i
        numbers.append(written.number)
        mine = (priority is not None, sort_at, written.seq)
        # Priority tickets wait behind earlier priority tickets; regular ones behind every
        # priority ticket and earlier regular ones.
        if mine[0]:
            expected = sum(1 for p, at, seq in queue if p and (at, seq) < mine[1:])
        else:
            expected = sum(1 for p, at, seq in queue if p or (at, seq) < mine[1:])
        assert written.people_ahead == expected, i
        queue.append(mine)
    assert numbers[:5] == ["A-996", "A-997", "A-998", "A-999", "A-1000"]
    assert numbers[-1] == "A-1007"
    # The issued event was written with the ticket, in the site's local hour.
    events = session.execute(sa.text(
        "SELECT count(*), min(hour), max(hour), min(to_status) FROM ticket_event e JOIN ticket t "
        "ON t.id = e.ticket_id WHERE t.service_id = :s AND e.type = 'issued'"),
        {"s": service.id}).one()
    assert tuple(events) == (12, 10, 10, "waiting")


def test_writer_refuses_past_the_quota_and_writes_nothing(session, clock, world):
    day = clock().astimezone(WIB).date()
    conn = session.connection()
    written = [issue_sql.write_ticket(conn, _new(world, world.kk, clock, seq_day=day, limit=2))
               for _ in range(3)]
    assert written[0] is not None and written[1] is not None and written[2] is None
    count = session.scalar(sa.select(sa.func.count()).select_from(Ticket)
                           .where(Ticket.service_id == world.kk.id))
    assert count == 2
    sd = session.get(ServiceDay, (world.kk.id, day), populate_existing=True)
    assert (sd.last_seq, sd.quota_used) == (2, 2)


def test_a_changed_site_time_zone_is_seen_at_once(session, clock, world):
    """The time-zone hint of read_facts never keeps a stale date."""
    # 23.30 in Jakarta is already 00.30 the next day in Makassar.
    clock.set(datetime(2026, 11, 23, 16, 30, tzinfo=UTC))
    first = tickets.issue_ticket(_ctx(session, clock), service_id=world.kk.id)
    assert first.ticket.day.isoformat() == "2026-11-23"
    session.execute(sa.update(Site).where(Site.id == world.site.id)
                    .values(timezone="Asia/Makassar"))
    second = tickets.issue_ticket(_ctx(session, clock), service_id=world.kk.id)
    assert second.ticket.day.isoformat() == "2026-11-24"
    assert second.ticket.seq == 1  # a new day numbers from one again


def test_issued_ticket_object_is_the_stored_row(session, clock, world):
    issued = tickets.issue_ticket(_ctx(session, clock), service_id=world.ktp.id,
                                  priority="disabilitas")
    view = issued.view  # what the kiosk's answer is made of, before any ORM object exists
    attached = issued.ticket
    session.flush()
    stored = session.execute(sa.select(Ticket.__table__).where(Ticket.id == attached.id)).one()
    for column in Ticket.__table__.columns:
        assert getattr(attached, column.key) == getattr(stored, column.key), column.key
        assert getattr(view, column.key) == getattr(stored, column.key), column.key
    # A change to the returned object is written back (transfers re-label tracking codes).
    attached.note = "dicatat"
    session.flush()
    assert session.scalar(sa.select(Ticket.note).where(Ticket.id == attached.id)) == "dicatat"


def test_estimate_uses_todays_service_times_and_open_counters(session, clock, world):
    """Both reads of read_facts (the first, then the one-statement one) see the day's times."""
    from app.services import auth

    clock.set(datetime(2026, 11, 23, 2, 0, tzinfo=UTC))  # 09.00 WIB
    officer = Ctx(session=session, now=clock(), actor=auth.principal_for_user(world.officer_d))
    tickets.open_counter(officer, world.c1, take_over=True)
    for minutes in (4, 6, 6, 7, 30):  # median 6
        tickets.issue_ticket(_ctx(session, clock), service_id=world.kk.id)
        session.flush()
        officer.now = clock()
        ticket = tickets.call_next(officer, world.c1)
        tickets.start(officer, ticket)
        session.flush()
        clock.set(clock() + timedelta(minutes=minutes))
        officer.now = clock()
        tickets.finish(officer, ticket)
        session.flush()
    estimates = []
    for _ in range(3):
        issued = tickets.issue_ticket(_ctx(session, clock), service_id=world.kk.id)
        session.flush()
        estimates.append((issued.people_ahead, issued.estimated_wait_minutes))
    assert estimates == [(0, 0), (1, 6), (2, 12)]
