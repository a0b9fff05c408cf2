"""Queue statistics for any period, computed in SQL from ticket_event rows.

Every query filters on `site_id` (always, so PostgreSQL can use the (site_id, day, type) index
even for "all sites") and on the site-local `day` range first, so a report's cost depends on the
period's rows, not on the years of history around them.

Percentiles: PostgreSQL computes them with `percentile_cont` in SQL. SQLite has no ordered-set
aggregates, so there we fetch only the duration column of the period's called/finished events
and use app.domain.ikm.percentile (same linear interpolation as percentile_cont).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.db.models import (
    Agency,
    Counter,
    Service,
    ServiceDay,
    Site,
    Ticket,
    TicketEvent,
    User,
)
from app.db.session import is_postgres
from app.domain.errors import DomainError, InvalidValue, NotFound
from app.domain.reporting import check_range, duration_summary
from app.services.context import Ctx
from app.services.policy import (
    agency_ids_in_scope,
    ensure_can_read_stats,
    site_ids_in_scope,
)
from app.services.sitetime import local_day

E = TicketEvent.__table__.c
DIMENSIONS = ("site", "agency", "service", "counter", "officer")
_KEY_COLUMNS = {"site": E.site_id, "agency": E.agency_id, "service": E.service_id,
                "counter": E.counter_id, "officer": E.user_id}
# Counted event kinds: name -> condition on the event row.
COUNTS: dict[str, Any] = {
    "issued": E.type == "issued",
    "served": E.type == "finished",
    "no_show": E.type == "no_show",
    "transferred": E.type == "transferred",
    "priority": sa.and_(E.type == "issued", E.priority.is_(True)),
    "called": E.type == "called",
}
# Durations: wait on the first call, service time on finish (both in seconds).
DURATIONS = {"wait": "called", "service": "finished"}
WEEKDAYS_ID = ["Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"]


@dataclass(frozen=True)
class Scope:
    """What a statistic covers: an inclusive site-local day range and the visible slice."""

    start: date
    end: date
    site_ids: tuple[int, ...]
    agency_ids: frozenset[int] | None = None
    service_id: int | None = None
    counter_id: int | None = None
    user_id: int | None = None

    def where(self) -> list[Any]:
        """Conditions on ticket_event, most selective index columns first."""
        conds: list[Any] = [E.site_id.in_(self.site_ids) if len(self.site_ids) != 1
                            else E.site_id == self.site_ids[0],
                            E.day >= self.start, E.day <= self.end]
        if self.agency_ids is not None:
            conds.append(E.agency_id.in_(sorted(self.agency_ids)))
        if self.service_id is not None:
            conds.append(E.service_id == self.service_id)
        if self.counter_id is not None:
            conds.append(E.counter_id == self.counter_id)
        if self.user_id is not None:
            conds.append(E.user_id == self.user_id)
        return conds

    def as_params(self) -> dict[str, Any]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat(),
                "site_ids": list(self.site_ids),
                "agency_ids": sorted(self.agency_ids) if self.agency_ids is not None else None,
                "service_id": self.service_id, "counter_id": self.counter_id,
                "user_id": self.user_id}


def _visible(scope: set[int] | None, value: int) -> None:
    if scope is not None and value not in scope:
        raise DomainError("forbidden")


def build_scope(ctx: Ctx, *, start: date | None, end: date | None, site_id: int | None = None,
                agency_id: int | None = None, service_id: int | None = None,
                counter_id: int | None = None, user_id: int | None = None) -> Scope:
    """Check the actor may see what is asked (managers: their agencies) and narrow to it."""
    actor = ensure_can_read_stats(ctx.actor)
    session = ctx.session
    agencies = agency_ids_in_scope(session, actor)
    sites = site_ids_in_scope(session, actor)
    if site_id is not None:
        if session.get(Site, site_id) is None:
            raise NotFound("Lokasi", "Site")
        _visible(sites, site_id)
        site_ids = [site_id]
    elif sites is not None:
        site_ids = sorted(sites)
    else:
        site_ids = list(session.scalars(sa.select(Site.id).order_by(Site.id)))
    if agency_id is not None:
        agency = session.get(Agency, agency_id)
        if agency is None:
            raise NotFound("Instansi", "Agency")
        _visible(agencies, agency_id)
        agencies = {agency_id}
    if service_id is not None:
        service = session.get(Service, service_id)
        if service is None:
            raise NotFound("Layanan", "Service")
        _visible(agencies, service.agency_id)
    if counter_id is not None:
        counter = session.get(Counter, counter_id)
        if counter is None:
            raise NotFound("Loket", "Counter")
        _visible(agencies, counter.agency_id)
    if user_id is not None:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("Pengguna", "User")
        if agencies is not None and user.agency_id not in agencies:
            raise DomainError("forbidden")
    if start is None or end is None:
        today = _today(session, site_ids, ctx.now)
        start, end = start or end or today, end or start or today
    start, end = check_range(start, end)
    return Scope(start, end, tuple(site_ids) or (0,),
                 frozenset(agencies) if agencies is not None else None,
                 service_id, counter_id, user_id)


def _today(session: Session, site_ids: list[int], now: datetime) -> date:
    site = session.get(Site, site_ids[0]) if site_ids else None
    return local_day(site, now) if site is not None else now.date()


# --- queries --------------------------------------------------------------------------------


def _count_columns() -> list[Any]:
    return [sa.func.count().filter(cond).label(name) for name, cond in COUNTS.items()]


# Key of the whole-scope figures in the dicts below (real keys are ids or None).
ALL = "*"


def by_day_hour(session: Session, scope: Scope, key: Any = None
                ) -> tuple[list[dict[str, Any]], dict[Any, dict[str, int]]]:
    """Counts per (day, hour) and, if `key` is given, per key: one scan on PostgreSQL.

    Per-day, per-hour, weekday heat map and totals all come from the (day, hour) cells.
    """
    counts = _count_columns()
    cells: list[dict[str, Any]] = []
    by_key: dict[Any, dict[str, int]] = {}

    def figures(m: Any) -> dict[str, int]:
        return {n: int(m[n] or 0) for n in COUNTS}

    if key is not None and is_postgres(session):
        stmt = (sa.select(E.day, E.hour, key.label("k"), sa.func.grouping(key).label("gk"),
                          *counts).where(*scope.where())
                .group_by(sa.func.grouping_sets(sa.tuple_(E.day, E.hour), sa.tuple_(key))))
        for row in session.execute(stmt):
            m = row._mapping
            if m["gk"] == 0:
                by_key[m["k"]] = figures(m)
            else:
                cells.append({"day": m["day"], "hour": int(m["hour"]), **figures(m)})
        return cells, by_key
    stmt = sa.select(E.day, E.hour, *counts).where(*scope.where()).group_by(E.day, E.hour)
    cells = [{"day": r._mapping["day"], "hour": int(r._mapping["hour"]), **figures(r._mapping)}
             for r in session.execute(stmt)]
    if key is not None:
        stmt = sa.select(key.label("k"), *counts).where(*scope.where()).group_by(key)
        by_key = {r._mapping["k"]: figures(r._mapping) for r in session.execute(stmt)}
    return cells, by_key


def _durations_by(session: Session, scope: Scope, key: Any
                  ) -> dict[Any, dict[str, dict[str, Any]]]:
    """{key: {"wait": summary, "service": summary}}, with the whole scope under ALL.

    One pass: PostgreSQL groups by (key, type) and (type) at once (GROUPING SETS); on SQLite
    the period's durations are fetched once and summarised per key and overall.
    """
    base = [*scope.where(), E.type.in_(tuple(DURATIONS.values())),
            E.duration_seconds.is_not(None)]
    out: dict[Any, dict[str, dict[str, Any]]] = defaultdict(dict)
    if is_postgres(session):
        d = E.duration_seconds
        cols = [key.label("k"), sa.func.grouping(key).label("gk")] if key is not None else []
        stmt = sa.select(
            *cols, E.type, sa.func.count(), sa.func.avg(d),
            sa.func.percentile_cont(0.5).within_group(d),
            sa.func.percentile_cont(0.9).within_group(d),
        ).where(*base)
        if key is not None:
            stmt = stmt.group_by(sa.func.grouping_sets(sa.tuple_(key, E.type),
                                                       sa.tuple_(E.type)))
        else:
            stmt = stmt.group_by(E.type)
        for row in session.execute(stmt):
            if key is not None:
                k, gk, typ, n, mean, med, p90 = row
                k = ALL if gk else k
            else:
                typ, n, mean, med, p90 = row
                k = ALL
            out[k][_dname(typ)] = {"count": int(n), "mean": _r(mean), "median": _r(med),
                                   "p90": _r(p90)}
    else:
        values: dict[tuple[Any, str], list[float]] = defaultdict(list)
        cols = [key.label("k")] if key is not None else [sa.literal(None).label("k")]
        for k, typ, d in session.execute(sa.select(*cols, E.type, E.duration_seconds)
                                         .where(*base)):
            values[(k, typ)].append(float(d))
            if key is not None:
                values[(ALL, typ)].append(float(d))
        for (k, typ), vals in values.items():
            out[ALL if key is None else k][_dname(typ)] = duration_summary(vals)
    empty = duration_summary([])
    out.setdefault(ALL, {})
    for per in out.values():
        for name in DURATIONS:
            per.setdefault(name, dict(empty))
    return out


def _dname(event_type: str) -> str:
    return "wait" if event_type == "called" else "service"


def _r(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


def waiting_now(session: Session, scope: Scope, now: datetime) -> int:
    """Tickets waiting right now (today, in each site's own zone) within the scope."""
    total = 0
    t = Ticket.__table__.c
    for site in session.scalars(sa.select(Site).where(Site.id.in_(scope.site_ids))):
        conds = [t.site_id == site.id, t.day == local_day(site, now), t.status == "waiting"]
        if scope.agency_ids is not None:
            conds.append(t.agency_id.in_(sorted(scope.agency_ids)))
        if scope.service_id is not None:
            conds.append(t.service_id == scope.service_id)
        total += int(session.scalar(sa.select(sa.func.count()).where(*conds)) or 0)
    return total


def quota_use(session: Session, scope: Scope) -> list[dict[str, Any]]:
    """Per service with a daily quota: tickets counted against it over the period's open days."""
    sd = ServiceDay.__table__.c
    s = Service.__table__.c
    conds = [s.site_id.in_(scope.site_ids), s.daily_quota.is_not(None),
             sd.day >= scope.start, sd.day <= scope.end]
    if scope.agency_ids is not None:
        conds.append(s.agency_id.in_(sorted(scope.agency_ids)))
    if scope.service_id is not None:
        conds.append(s.id == scope.service_id)
    stmt = (sa.select(s.id, s.prefix, s.name, s.daily_quota, sa.func.count(sd.day),
                      sa.func.sum(sd.quota_used),
                      sa.func.count().filter(sd.quota_used >= s.daily_quota))
            .select_from(ServiceDay.__table__.join(Service.__table__, s.id == sd.service_id))
            .where(*conds)
            .group_by(s.id, s.prefix, s.name, s.daily_quota).order_by(s.prefix))
    out = []
    for sid, prefix, name, quota, days, used, full_days in session.execute(stmt):
        capacity = int(quota) * int(days)
        out.append({"service_id": sid, "prefix": prefix, "name": name, "daily_quota": quota,
                    "days": int(days), "used": int(used or 0), "capacity": capacity,
                    "percent": round(100 * int(used or 0) / capacity, 1) if capacity else None,
                    "days_full": int(full_days or 0)})
    return out


# --- labels ---------------------------------------------------------------------------------


def labels(session: Session, by: str, keys: list[Any]) -> dict[Any, str]:
    ids = [k for k in keys if k is not None]
    if by == "site":
        out = {i: n for i, n in session.execute(
            sa.select(Site.id, Site.name).where(Site.id.in_(ids)))}
    elif by == "agency":
        out = {i: n for i, n in session.execute(
            sa.select(Agency.id, Agency.name).where(Agency.id.in_(ids)))}
    elif by == "service":
        out = {i: f"{p} · {n}" for i, p, n in session.execute(
            sa.select(Service.id, Service.prefix, Service.name).where(Service.id.in_(ids)))}
    elif by == "counter":
        out = {i: f"{a} · {n}" for i, n, a in session.execute(
            sa.select(Counter.id, Counter.name, Agency.name)
            .join(Agency, Agency.id == Counter.agency_id).where(Counter.id.in_(ids)))}
    else:
        out = {i: (f or u) for i, f, u in session.execute(
            sa.select(User.id, User.full_name, User.username).where(User.id.in_(ids)))}
    if None in keys:
        out[None] = "Kios / sistem" if by in ("officer", "counter") else "-"
    return out


# --- use cases ------------------------------------------------------------------------------


def bookings(session: Session, scope: Scope, now: datetime) -> dict[str, int]:
    """Online bookings in the period by outcome (booked, checked in, no-show, ...)."""
    from app.services.booking import booking_counts

    total: dict[str, int] = {}
    for site_id in scope.site_ids:
        counts = booking_counts(session, site_id, scope.start, scope.end,
                                service_id=scope.service_id, now=now,
                                agency_ids=scope.agency_ids)
        for k, v in counts.items():
            total[k] = total.get(k, 0) + v
    return total


def breaks(session: Session, scope: Scope, now: datetime) -> dict[str, Any]:
    """Counter breaks ("istirahat") in the period: total seconds, and per counter."""
    from zoneinfo import ZoneInfo

    from app.services.counter_break import break_seconds

    per: dict[int, int] = {}
    for site_id in scope.site_ids:
        site = session.get(Site, site_id)
        if site is None:
            continue
        tz = ZoneInfo(site.timezone)
        start = datetime.combine(scope.start, datetime.min.time(), tzinfo=tz)
        end = datetime.combine(scope.end + timedelta(days=1), datetime.min.time(), tzinfo=tz)
        ids = None
        if scope.counter_id is not None:
            ids = [scope.counter_id]
        elif scope.agency_ids is not None:
            ids = list(session.scalars(sa.select(Counter.id).where(
                Counter.agency_id.in_(sorted(scope.agency_ids)))))
        per.update(break_seconds(session, counter_ids=ids, site_id=site_id, start=start,
                                 end=end, now=now))
    names = labels(session, "counter", list(per))
    return {"seconds": sum(per.values()),
            "per_counter": [{"counter_id": cid, "counter": names.get(cid, f"#{cid}"),
                             "seconds": secs}
                            for cid, secs in sorted(per.items(), key=lambda x: -x[1])]}


def summary(ctx: Ctx, scope: Scope) -> dict[str, Any]:
    """The API.md summary: counts, waiting now, wait/service time, arrivals and calls per hour."""
    session = ctx.session
    counts = dict.fromkeys(COUNTS, 0)
    hours = {h: {"hour": h, "arrivals": 0, "calls": 0} for h in range(24)}
    stmt = (sa.select(E.hour, *_count_columns()).where(*scope.where()).group_by(E.hour))
    for row in session.execute(stmt):
        m = row._mapping
        for name in COUNTS:
            counts[name] += int(m[name] or 0)
        hours[int(m["hour"])]["arrivals"] += int(m["issued"] or 0)
        hours[int(m["hour"])]["calls"] += int(m["called"] or 0)
    durations = _durations_by(session, scope, None)[ALL]
    return {
        **scope.as_params(),
        "issued": counts["issued"], "served": counts["served"],
        "no_shows": counts["no_show"], "transfers": counts["transferred"],
        "priority": counts["priority"], "calls": counts["called"],
        "waiting_now": waiting_now(session, scope, ctx.now),
        "wait_seconds": durations["wait"], "service_seconds": durations["service"],
        "per_hour": [hours[h] for h in range(24)],
        "bookings": bookings(session, scope, ctx.now),
    }


def breakdown(session: Session, scope: Scope, by: str,
              counts: dict[Any, dict[str, int]] | None = None,
              durs: dict[Any, dict[str, dict[str, Any]]] | None = None) -> list[dict[str, Any]]:
    """One row per site/agency/service/counter/officer with counts and time figures."""
    if by not in DIMENSIONS:
        raise InvalidValue("by", "dimensi tidak dikenal", "unknown dimension")
    key = _KEY_COLUMNS[by]
    if counts is None:
        counts = by_day_hour(session, scope, key)[1]
    if durs is None:
        durs = _durations_by(session, scope, key)
    keys = sorted((set(counts) | set(durs)) - {ALL}, key=lambda k: (k is None, k or 0))
    names = labels(session, by, keys)
    empty = {n: duration_summary([]) for n in DURATIONS}
    rows = []
    for k in keys:
        c = counts.get(k, dict.fromkeys(COUNTS, 0))
        d = durs.get(k, empty)
        rows.append({"key": k, "label": names.get(k, str(k)), **c,
                     "wait_seconds": d["wait"], "service_seconds": d["service"]})
    rows.sort(key=lambda r: (r["key"] is None, r["label"]))
    return rows


def report(ctx: Ctx, scope: Scope, by: str = "service") -> dict[str, Any]:
    """The richer report: totals, per day, per hour, weekday x hour heat map, breakdown, quota."""
    session = ctx.session
    if by not in DIMENSIONS:
        raise InvalidValue("by", "dimensi tidak dikenal", "unknown dimension")
    key = _KEY_COLUMNS[by]
    if is_postgres(session):
        # Percentiles sort the period's durations: keep a month's sort in memory, not on disk.
        session.execute(sa.text("SET LOCAL work_mem = '64MB'"))
    # Two scans of the period's events on PostgreSQL: counts (cells + per key), durations.
    cells, counts_by_key = by_day_hour(session, scope, key)
    durs = _durations_by(session, scope, key)
    per_day: dict[date, dict[str, int]] = {}
    per_hour = {h: dict.fromkeys(COUNTS, 0) for h in range(24)}
    heat_arr = [[0] * 24 for _ in range(7)]
    heat_calls = [[0] * 24 for _ in range(7)]
    totals = dict.fromkeys(COUNTS, 0)
    for m in cells:
        day_, hour = m["day"], int(m["hour"])
        d = per_day.setdefault(day_, dict.fromkeys(COUNTS, 0))
        for name in COUNTS:
            v = int(m[name] or 0)
            d[name] += v
            per_hour[hour][name] += v
            totals[name] += v
        # The weekday follows from the site-local day, so no time-zone work is needed in SQL.
        heat_arr[day_.weekday()][hour] += int(m["issued"] or 0)
        heat_calls[day_.weekday()][hour] += int(m["called"] or 0)
    durations = durs[ALL]
    days = []
    cur = scope.start
    while cur <= scope.end:
        days.append({"day": cur.isoformat(), **per_day.get(cur, dict.fromkeys(COUNTS, 0))})
        cur += timedelta(days=1)
    return {
        **scope.as_params(),
        "by": by,
        "totals": {**totals, "wait_seconds": durations["wait"],
                   "service_seconds": durations["service"]},
        "waiting_now": waiting_now(session, scope, ctx.now),
        "per_day": days,
        "per_hour": [{"hour": h, "arrivals": per_hour[h]["issued"],
                      "calls": per_hour[h]["called"], "served": per_hour[h]["served"]}
                     for h in range(24)],
        "heatmap": {"weekdays": WEEKDAYS_ID, "arrivals": heat_arr, "calls": heat_calls},
        "rows": breakdown(session, scope, by, counts_by_key, durs),
        "quota": quota_use(session, scope),
        "bookings": bookings(session, scope, ctx.now),
        "breaks": breaks(session, scope, ctx.now),
    }


# --- export ---------------------------------------------------------------------------------

DIMENSION_NAMES_ID = {"site": "Lokasi", "agency": "Instansi", "service": "Layanan",
                      "counter": "Loket", "officer": "Petugas"}
EXPORT_COLUMNS = [
    "Tiket diambil", "Dilayani", "Tidak hadir", "Dialihkan", "Prioritas", "Dipanggil",
    "Rata-rata tunggu (menit)", "Median tunggu (menit)", "P90 tunggu (menit)",
    "Rata-rata layanan (menit)", "Median layanan (menit)", "P90 layanan (menit)",
]


def _minutes(seconds: Any) -> float | None:
    return None if seconds is None else round(float(seconds) / 60, 1)


def _figures(row: dict[str, Any]) -> list[Any]:
    w, s = row["wait_seconds"], row["service_seconds"]
    return [row["issued"], row["served"], row["no_show"], row["transferred"], row["priority"],
            row["called"], _minutes(w["mean"]), _minutes(w["median"]), _minutes(w["p90"]),
            _minutes(s["mean"]), _minutes(s["median"]), _minutes(s["p90"])]


def export_table(rep: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """The breakdown as a table with Indonesian column names, plus a total row."""
    header = ["Dari tanggal", "Sampai tanggal", DIMENSION_NAMES_ID[rep["by"]], *EXPORT_COLUMNS]
    rows = [[rep["from"], rep["to"], r["label"], *_figures(r)] for r in rep["rows"]]
    rows.append([rep["from"], rep["to"], "TOTAL", *_figures(rep["totals"])])
    return header, rows


def export_days(rep: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    header = ["Tanggal", "Tiket diambil", "Dilayani", "Tidak hadir", "Dialihkan", "Prioritas"]
    return header, [[d["day"], d["issued"], d["served"], d["no_show"], d["transferred"],
                     d["priority"]] for d in rep["per_day"]]


def export_hours(rep: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    header = ["Jam", *rep["heatmap"]["weekdays"], "Total kedatangan", "Total panggilan"]
    arr = rep["heatmap"]["arrivals"]
    rows = []
    for h in range(24):
        rows.append([f"{h:02d}.00", *[arr[w][h] for w in range(7)],
                     rep["per_hour"][h]["arrivals"], rep["per_hour"][h]["calls"]])
    return header, rows


def export_quota(rep: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    header = ["Prefiks", "Layanan", "Kuota harian", "Hari", "Terpakai", "Kapasitas",
              "Pemakaian (%)", "Hari kuota habis"]
    return header, [[q["prefix"], q["name"], q["daily_quota"], q["days"], q["used"],
                     q["capacity"], q["percent"], q["days_full"]] for q in rep["quota"]]
