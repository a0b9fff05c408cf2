"""Personal-data housekeeping (UU 27/2022): `mpp purge` and the daily job clear personal fields
older than the retention period and keep the anonymous statistics."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.db.models import AuditLog, Booking, Setting, SurveyResponse, Ticket, TicketEvent
from app.services import purge, tickets
from app.services.context import Ctx


def make_ticket(session, world, at, note=None):
    ctx = Ctx(session=session, now=at)
    t = tickets.issue_ticket(ctx, service_id=world.ktp.id, check_hours=False).ticket
    t.note = note
    session.flush()
    return t


def make_booking(session, world, slot_start, code):
    b = Booking(code=code, site_id=world.site.id, agency_id=world.dukcapil.id,
                service_id=world.ktp.id, day=slot_start.date(), slot_start=slot_start,
                slot_end=slot_start + timedelta(minutes=30), name="Budi Santoso",
                phone="081234567890", consent_at=slot_start - timedelta(days=1),
                created_at=slot_start - timedelta(days=2))
    session.add(b)
    session.flush()
    return b


def survey(session, world, ticket, at, comment):
    s = SurveyResponse(ticket_id=ticket.id, site_id=world.site.id, agency_id=world.dukcapil.id,
                       service_id=world.ktp.id, day=at.date(), submitted_at=at, comment=comment,
                       **{f"u{i}": 3 for i in range(1, 10)})
    session.add(s)
    session.flush()
    return s


def test_purge_clears_old_personal_fields_and_keeps_statistics(session, world, clock):
    now = clock()
    old, recent = now - timedelta(days=100), now - timedelta(days=10)
    old_booking = make_booking(session, world, old, "BK-OLD")
    new_booking = make_booking(session, world, recent, "BK-NEW")
    # Booked long ago for a visit still ahead: its contact is still needed.
    future = make_booking(session, world, now + timedelta(days=3), "BK-FUT")
    future.created_at = now - timedelta(days=200)
    t_old = make_ticket(session, world, old, note="Ibu Siti, telp 0812...")
    t_new = make_ticket(session, world, recent, note="catatan baru")
    s_old = survey(session, world, t_old, old, "Petugas Andi sangat membantu")
    s_new = survey(session, world, t_new, recent, "Cepat")
    session.add(AuditLog(at=old, username="admin", action="login", entity="user", ip="10.0.0.9"))
    session.flush()
    tickets_before = session.scalar(sa.select(sa.func.count()).select_from(Ticket))
    events_before = session.scalar(sa.select(sa.func.count()).select_from(TicketEvent))

    result = purge.purge(session, now=now, days=90)

    assert (result.bookings, result.survey_comments, result.ticket_notes) == (1, 1, 1)
    assert result.audit_ips == 1
    for row in (old_booking, new_booking, future, t_old, t_new, s_old, s_new):
        session.refresh(row)
    assert (old_booking.name, old_booking.phone, old_booking.consent_at) == (None, None, None)
    assert old_booking.code == "BK-OLD" and old_booking.slot_start is not None
    assert new_booking.name == "Budi Santoso" and new_booking.phone == "081234567890"
    assert future.name == "Budi Santoso"
    assert t_old.note is None and t_new.note == "catatan baru"
    assert s_old.comment is None and s_new.comment == "Cepat"
    # Scores, tickets and their events are the statistics: untouched.
    assert s_old.u1 == 3 and s_old.u9 == 3
    assert session.scalar(sa.select(sa.func.count()).select_from(Ticket)) == tickets_before
    assert session.scalar(sa.select(sa.func.count()).select_from(TicketEvent)) == events_before
    assert session.scalar(sa.select(AuditLog.ip).where(AuditLog.at == old)) is None
    # A second run finds nothing left to clear.
    assert purge.purge(session, now=now, days=90).total == 0
    last = session.get(Setting, purge.LAST_RUN_KEY)
    assert last is not None and last.value["retention_days"] == 90


def test_retention_setting_overrides_the_environment(session, world, clock):
    assert purge.retention_days(session, 90) == 90
    from app.services.mallfile import SYSTEM

    ctx = Ctx(session=session, now=clock(), actor=SYSTEM)
    purge.set_retention_days(ctx, 7)
    assert purge.retention_days(session, 90) == 7
    make_booking(session, world, clock() - timedelta(days=8), "BK-8")
    assert purge.purge(session, now=clock(), days=purge.retention_days(session, 90)).bookings == 1


def test_daily_job_is_registered_and_runs(app, world, session):
    from app import jobs

    assert "purge" in {job.name for job in jobs.JOBS}
    old = app.state.clock() - timedelta(days=400)
    make_booking(session, world, old, "BK-JOB")
    session.commit()
    result = jobs.purge_once(app)
    assert result.bookings == 1
    entry = session.scalar(sa.select(AuditLog).where(AuditLog.action == "purge"))
    assert entry is not None and entry.username == "system" and entry.changes["bookings"] == 1


def test_purge_command(tmp_path):
    """`mpp purge` on a real database file."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from app.db.migrate import upgrade

    root = Path(__file__).resolve().parents[2]
    url = f"sqlite:///{tmp_path / 'p.db'}"
    upgrade(url)
    env = {**os.environ, "MPP_DATABASE_URL": url, "PYTHONPATH": str(root)}
    r = subprocess.run([sys.executable, "-m", "app.cli", "purge", "--days", "30"], cwd=root,
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("retention 30 days") and "0 booking contacts" in r.stdout
