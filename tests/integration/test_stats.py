"""Statistics over a generated day match a brute-force count of the raw rows (SQLite and PG)."""

from __future__ import annotations

import random
import statistics
from collections import Counter as Tally
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app.db.models import SurveyResponse, Ticket, TicketEvent
from app.services import auth, dashboard, stats, survey, tickets
from app.services.context import Ctx

WIB = ZoneInfo("Asia/Jakarta")
DAY1 = date(2026, 11, 22)  # a Sunday
DAY2 = date(2026, 11, 23)  # a Monday


def _ctx(session, clock, user=None):
    actor = auth.principal_for_user(user) if user is not None else None
    return Ctx(session=session, now=clock(), actor=actor)


def simulate_day(session, clock, world, day: date, seed: int) -> None:
    """A day of kiosk issues and counter work through the real services, time moving by clock."""
    rng = random.Random(seed)
    clock.set(datetime(day.year, day.month, day.day, 7, 30, tzinfo=WIB).astimezone(UTC))
    officers = {world.c1.id: world.officer_d, world.c2.id: world.officer_d,
                world.c3.id: world.officer_i}
    counters = [world.c1, world.c2, world.c3]
    for c in counters:
        tickets.open_counter(_ctx(session, clock, officers[c.id]), c, take_over=True)
    services = [world.ktp, world.kk, world.paspor]
    for _minute in range(0, 8 * 60, 4):
        clock.set(clock() + timedelta(minutes=4, seconds=rng.randint(0, 50)))
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            prio = rng.choice((None, None, None, None, "lansia", "ibu_hamil"))
            try:
                tickets.issue_ticket(_ctx(session, clock), service_id=rng.choice(services).id,
                                     priority=prio)
            except Exception as exc:  # quota of paspor: fine, it is part of the day
                assert getattr(exc, "code", None) == "quota_exhausted", exc
        session.flush()
        for c in counters:
            # Services never flush for us (autoflush is off): each action sees the last one.
            session.flush()
            ctx = _ctx(session, clock, officers[c.id])
            current = tickets.current_ticket(session, c.id)
            if current is None:
                if rng.random() < 0.8:
                    tickets.call_next(ctx, c)
                continue
            roll = rng.random()
            if current.status == "called":
                if roll < 0.1:
                    tickets.no_show(ctx, current)
                elif roll < 0.15:
                    tickets.recall(ctx, current)
                else:
                    tickets.start(ctx, current)
            elif current.status == "serving":
                if roll < 0.05 and c.id != world.c3.id:
                    tickets.transfer(ctx, current, service_id=world.paspor.id)
                elif roll < 0.6:
                    tickets.finish(ctx, current)
        session.flush()
    session.commit()


def brute_force(session, day_from: date, day_to: date, agency_ids=None):
    """Counts and times straight from the raw rows, with the local hour from the timestamp."""
    events = [e for e in session.scalars(sa.select(TicketEvent))
              if day_from <= e.at.astimezone(WIB).date() <= day_to
              and (agency_ids is None or e.agency_id in agency_ids)]
    types = Tally(e.type for e in events)
    waits = [e.duration_seconds for e in events if e.type == "called"
             and e.duration_seconds is not None]
    services = [e.duration_seconds for e in events if e.type == "finished"
                and e.duration_seconds is not None]
    arrivals = Tally(e.at.astimezone(WIB).hour for e in events if e.type == "issued")
    calls = Tally(e.at.astimezone(WIB).hour for e in events if e.type == "called")
    prio = sum(1 for e in events if e.type == "issued" and e.priority)
    by_service = Tally((e.service_id, e.type) for e in events)
    return {"types": types, "waits": waits, "services": services, "arrivals": arrivals,
            "calls": calls, "priority": prio, "by_service": by_service, "events": events}


def _pct(values, p):
    # statistics.quantiles' inclusive method is percentile_cont's linear interpolation.
    if len(values) == 1:
        return float(values[0])
    cuts = statistics.quantiles(values, n=10, method="inclusive")
    return cuts[8] if p == 0.9 else statistics.median(values)


def _close(a, b):
    assert a is not None and abs(a - b) <= 0.06, (a, b)


def test_generated_day_matches_brute_force(session, clock, world):
    simulate_day(session, clock, world, DAY1, seed=1)
    simulate_day(session, clock, world, DAY2, seed=2)
    bf = brute_force(session, DAY2, DAY2)
    assert bf["types"]["issued"] > 100 and bf["types"]["finished"] > 50
    assert bf["types"]["no_show"] > 0 and bf["types"]["transferred"] > 0

    ctx = _ctx(session, clock, world.admin)
    scope = stats.build_scope(ctx, start=DAY2, end=DAY2, site_id=world.site.id)
    s = stats.summary(ctx, scope)
    assert s["issued"] == bf["types"]["issued"]
    assert s["served"] == bf["types"]["finished"]
    assert s["no_shows"] == bf["types"]["no_show"]
    assert s["transfers"] == bf["types"]["transferred"]
    assert s["priority"] == bf["priority"]
    assert s["wait_seconds"]["count"] == len(bf["waits"])
    _close(s["wait_seconds"]["mean"], sum(bf["waits"]) / len(bf["waits"]))
    _close(s["wait_seconds"]["median"], _pct(bf["waits"], 0.5))
    _close(s["wait_seconds"]["p90"], _pct(bf["waits"], 0.9))
    _close(s["service_seconds"]["median"], _pct(bf["services"], 0.5))
    _close(s["service_seconds"]["p90"], _pct(bf["services"], 0.9))
    for h in range(24):
        assert s["per_hour"][h]["arrivals"] == bf["arrivals"].get(h, 0), h
        assert s["per_hour"][h]["calls"] == bf["calls"].get(h, 0), h
    waiting = session.scalar(sa.select(sa.func.count()).select_from(Ticket).where(
        Ticket.status == "waiting", Ticket.day == clock().astimezone(WIB).date()))
    assert s["waiting_now"] == waiting

    rep = stats.report(ctx, scope, "service")
    rows = {r["key"]: r for r in rep["rows"]}
    for (sid, typ), n in bf["by_service"].items():
        name = {"issued": "issued", "finished": "served", "no_show": "no_show",
                "transferred": "transferred"}.get(typ)
        if name:
            assert rows[sid][name] == n, (sid, typ)
    assert rep["totals"]["issued"] == bf["types"]["issued"]
    assert len(rep["per_day"]) == 1 and rep["per_day"][0]["served"] == bf["types"]["finished"]
    # Monday is row 0 of the heat map.
    assert sum(rep["heatmap"]["arrivals"][0]) == bf["types"]["issued"]
    assert sum(map(sum, rep["heatmap"]["arrivals"][1:])) == 0
    # Per counter and per officer add up to the total of served tickets.
    for by in ("counter", "officer"):
        r = stats.report(ctx, scope, by)
        assert sum(x["served"] for x in r["rows"]) == bf["types"]["finished"]
    # Paspor has a quota of 30; the quota row counts what the kiosk issued against it.
    quota = {q["service_id"]: q for q in rep["quota"]}
    issued_paspor = session.scalar(sa.select(sa.func.count()).select_from(Ticket).where(
        Ticket.service_id == world.paspor.id, Ticket.day == DAY2, Ticket.channel != "transfer"))
    assert quota[world.paspor.id]["used"] == issued_paspor
    assert quota[world.paspor.id]["capacity"] == 30

    # Two days: every count is the sum of both days, and the week report sees both weekdays.
    both = stats.report(ctx, stats.build_scope(ctx, start=DAY1, end=DAY2,
                                               site_id=world.site.id), "agency")
    bf2 = brute_force(session, DAY1, DAY2)
    assert both["totals"]["issued"] == bf2["types"]["issued"]
    assert both["totals"]["wait_seconds"]["count"] == len(bf2["waits"])
    _close(both["totals"]["wait_seconds"]["p90"], _pct(bf2["waits"], 0.9))
    assert sum(both["heatmap"]["arrivals"][6]) == bf2["types"]["issued"] - bf["types"]["issued"]


def test_manager_scope_and_dashboard(session, clock, world):
    from app.services import config

    simulate_day(session, clock, world, DAY2, seed=3)
    ctx_admin = _ctx(session, clock, world.admin)
    mgr = config.create_user(ctx_admin, {"username": "mgr-duk", "password": "rahasia-123",
                                         "role": "manager", "agency_id": world.dukcapil.id})
    session.commit()
    ctx = _ctx(session, clock, mgr)
    scope = stats.build_scope(ctx, start=DAY2, end=DAY2)
    s = stats.summary(ctx, scope)
    bf = brute_force(session, DAY2, DAY2, agency_ids={world.dukcapil.id})
    assert s["issued"] == bf["types"]["issued"]
    assert s["served"] == bf["types"]["finished"]
    import pytest

    from app.domain.errors import DomainError

    with pytest.raises(DomainError) as exc:
        stats.build_scope(ctx, start=DAY2, end=DAY2, agency_id=world.imigrasi.id)
    assert exc.value.code == "forbidden"
    with pytest.raises(DomainError):
        stats.build_scope(ctx, start=DAY2, end=DAY2, service_id=world.paspor.id)
    with pytest.raises(DomainError) as exc:
        stats.build_scope(_ctx(session, clock, world.officer_d), start=DAY2, end=DAY2)
    assert exc.value.code == "forbidden"

    snap = dashboard.snapshot(session, ctx.actor, world.site, clock())
    assert [a["id"] for a in snap["agencies"]] == [world.dukcapil.id]
    services = {r["id"]: r for a in snap["agencies"] for r in a["services"]}
    assert set(services) == {world.ktp.id, world.kk.id}
    for sid, row in services.items():
        waiting = [t for t in session.scalars(sa.select(Ticket).where(
            Ticket.service_id == sid, Ticket.status == "waiting", Ticket.day == DAY2))]
        assert row["waiting"] == len(waiting)
        assert row["served"] == bf["by_service"].get((sid, "finished"), 0)
        assert row["no_shows"] == bf["by_service"].get((sid, "no_show"), 0)
        if waiting:
            oldest = min(t.issued_at for t in waiting)
            assert row["longest_wait_seconds"] == int((clock() - oldest).total_seconds())
        assert row["open_counters"] == 2
    # An alert threshold below the longest wait raises an alert for that service only.
    row = max(services.values(), key=lambda r: r["longest_wait_seconds"])
    assert row["longest_wait_seconds"] > 60
    dashboard.set_thresholds(ctx, default_minutes=None,
                             services={row["id"]: max(1, row["longest_wait_seconds"] // 60)})
    snap = dashboard.snapshot(session, ctx.actor, world.site, clock())
    assert [a["service_id"] for a in snap["alerts"]] == [row["id"]] or row["id"] in [
        a["service_id"] for a in snap["alerts"]]
    with pytest.raises(DomainError):
        dashboard.set_thresholds(ctx, default_minutes=5, services=None)
    with pytest.raises(DomainError):
        dashboard.set_thresholds(ctx, default_minutes=None, services={world.paspor.id: 5})


def test_survey_rules_and_ikm(session, clock, world):
    simulate_day(session, clock, world, DAY2, seed=4)
    done = list(session.scalars(sa.select(Ticket).where(Ticket.status == "done")
                                .order_by(Ticket.id)))
    waiting = session.scalars(sa.select(Ticket).where(Ticket.status == "waiting")).first()
    assert len(done) >= 4 and waiting is not None
    from app.domain.errors import DomainError

    ctx = _ctx(session, clock)
    try:
        survey.submit(ctx, tracking_code=waiting.tracking_code, answers=[4] * 9, comment=None)
        raise AssertionError("a waiting ticket must not be surveyed")
    except DomainError as exc:
        assert exc.code == "survey_not_allowed"
    answers = [[4, 4, 3, 4, 3, 4, 4, 3, 4], [3, 3, 3, 4, 3, 3, 4, 2, 3],
               [4, 3, 4, 4, 4, 4, 4, 3, 3], [2, 3, 3, 4, 3, 3, 3, 2, 3]]
    for t, a in zip(done, answers, strict=False):
        survey.submit(ctx, tracking_code=t.tracking_code, answers=a, comment="Bagus " + t.number)
    try:
        survey.submit(ctx, tracking_code=done[0].tracking_code, answers=[1] * 9, comment=None)
        raise AssertionError("one response per ticket")
    except DomainError as exc:
        assert exc.code == "survey_already_submitted"
    session.commit()
    assert session.scalar(sa.select(sa.func.count()).select_from(SurveyResponse)) == 4
    admin = _ctx(session, clock, world.admin)
    rep = survey.ikm_report(admin, stats.build_scope(admin, start=DAY2, end=DAY2))
    # Hand computed: sums per unsur 13,13,13,16,13,14,15,10,13 -> NRR /4; IKM = mean x 25.
    assert rep["respondents"] == 4
    assert rep["nrr"] == [3.25, 3.25, 3.25, 4.0, 3.25, 3.5, 3.75, 2.5, 3.25]
    # (13*5 + 16 + 14 + 15 + 10) / 36 * 25 = 120/36*25 = 83.333... -> 83.33, B, Baik
    assert rep["ikm"] == 83.33 and rep["mutu"] == "B" and rep["kinerja"] == "Baik"
    finished = session.scalar(sa.select(sa.func.count()).select_from(TicketEvent).where(
        TicketEvent.type == "finished", TicketEvent.day == DAY2))
    assert rep["sample"]["population"] == finished
    assert rep["sample"]["reached"] is False
    assert len(rep["comments"]) == 4
