"""Open data for Satu Data portals: the daily queue figures and the published SKM result.

Public and anonymous by construction: the rows are counts and durations grouped by service and
day (from ticket_event, over the (site_id, day, type) index) or SKM sums grouped by agency (from
survey_response, over its (site_id, day) index). No ticket number, name, phone, NIK or survey
comment ever reaches these tables.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.db.models import Agency, Service, Site, SurveyResponse, TicketEvent
from app.db.session import is_postgres
from app.domain.errors import NotFound
from app.domain.ikm import N_UNSUR
from app.domain.reporting import check_range, duration_summary, ikm_from_sums, sample_status
from app.services.sitetime import local_day

E = TicketEvent.__table__.c
S = SurveyResponse.__table__.c
_U = [S[f"u{i}"] for i in range(1, N_UNSUR + 1)]

DAILY_FIELDS = ["date", "site_code", "agency_code", "service_code", "service_name", "issued",
                "served", "no_show", "wait_mean_min", "wait_median_min", "wait_p90_min",
                "service_mean_min"]
SKM_FIELDS = ["site_code", "period_from", "period_to", "agency_code", "agency_name",
              "respondents", *[f"nrr_u{i}" for i in range(1, N_UNSUR + 1)], "ikm", "mutu",
              "kinerja", "population", "sample_minimum", "sample_reached"]
# Without from/to: the last 30 days of the daily file, the current quarter of the SKM.
DAILY_DEFAULT_DAYS = 30


@dataclass(frozen=True)
class Slice:
    """The sites and the inclusive site-local day range an open-data file covers."""

    sites: tuple[Site, ...]
    start: date
    end: date

    @property
    def site_ids(self) -> list[int]:
        return [s.id for s in self.sites] or [0]


def resolve_slice(session: Session, now: datetime, *, site_id: int | None, start: date | None,
                  end: date | None, default: str) -> Slice:
    """One site (or every active one) and a checked range; defaults follow the first site's day."""
    if site_id is not None:
        site = session.get(Site, site_id)
        if site is None:
            raise NotFound("Lokasi", "Site")
        sites: tuple[Site, ...] = (site,)
    else:
        sites = tuple(session.scalars(sa.select(Site).where(Site.is_active.is_(True))
                                      .order_by(Site.id)))
    today = local_day(sites[0], now) if sites else now.date()
    if end is None:
        end = today if start is None else max(start, min(today, start + timedelta(days=365)))
    if start is None:
        if default == "quarter":
            month = 3 * ((end.month - 1) // 3) + 1
            start = date(end.year, month, 1)
        else:
            start = end - timedelta(days=DAILY_DEFAULT_DAYS - 1)
    start, end = check_range(start, end)
    return Slice(sites, start, end)


def _minutes(seconds: Any) -> float | None:
    return None if seconds is None else round(float(seconds) / 60, 1)


def daily(session: Session, sl: Slice) -> list[dict[str, Any]]:
    """One row per service per day with events in the range, in the contract's columns."""
    where = [E.site_id.in_(sl.site_ids), E.day >= sl.start, E.day <= sl.end]
    counts = session.execute(
        sa.select(E.day, E.service_id,
                  sa.func.count().filter(E.type == "issued"),
                  sa.func.count().filter(E.type == "finished"),
                  sa.func.count().filter(E.type == "no_show"))
        .where(*where).group_by(E.day, E.service_id)).all()
    durations = _durations(session, where)
    services = _service_labels(session, {sid for _, sid, *_ in counts})
    rows = []
    for day, sid, issued, served, no_show in counts:
        site_code, agency_code, code, name = services.get(sid, ("", "", str(sid), ""))
        wait = durations.get((day, sid, "called"), duration_summary([]))
        serve = durations.get((day, sid, "finished"), duration_summary([]))
        rows.append({
            "date": day.isoformat(), "site_code": site_code, "agency_code": agency_code,
            "service_code": code, "service_name": name, "issued": int(issued),
            "served": int(served), "no_show": int(no_show),
            "wait_mean_min": _minutes(wait["mean"]), "wait_median_min": _minutes(wait["median"]),
            "wait_p90_min": _minutes(wait["p90"]), "service_mean_min": _minutes(serve["mean"]),
        })
    rows.sort(key=lambda r: (r["date"], r["site_code"], r["agency_code"], r["service_code"]))
    return rows


def _durations(session: Session, where: list[Any]) -> dict[tuple[date, int, str], dict[str, Any]]:
    """Wait (first call) and service (finish) summaries per (day, service, event type)."""
    base = [*where, E.type.in_(("called", "finished")), E.duration_seconds.is_not(None)]
    out: dict[tuple[date, int, str], dict[str, Any]] = {}
    if is_postgres(session):
        d = E.duration_seconds
        stmt = (sa.select(E.day, E.service_id, E.type, sa.func.count(), sa.func.avg(d),
                          sa.func.percentile_cont(0.5).within_group(d),
                          sa.func.percentile_cont(0.9).within_group(d))
                .where(*base).group_by(E.day, E.service_id, E.type))
        for day, sid, typ, n, mean, med, p90 in session.execute(stmt):
            out[(day, sid, typ)] = {"count": int(n), "mean": float(mean), "median": float(med),
                                    "p90": float(p90)}
        return out
    # SQLite has no percentile_cont: fetch only the period's duration column.
    values: dict[tuple[date, int, str], list[float]] = defaultdict(list)
    for day, sid, typ, secs in session.execute(
            sa.select(E.day, E.service_id, E.type, E.duration_seconds).where(*base)):
        values[(day, sid, typ)].append(float(secs))
    return {k: duration_summary(v) for k, v in values.items()}


def _service_labels(session: Session, ids: set[int]) -> dict[int, tuple[str, str, str, str]]:
    if not ids:
        return {}
    stmt = (sa.select(Service.id, Site.code, Agency.code, Service.code, Service.name)
            .join(Agency, Agency.id == Service.agency_id).join(Site, Site.id == Service.site_id)
            .where(Service.id.in_(sorted(ids))))
    return {sid: (site, agency, code, name) for sid, site, agency, code, name in
            session.execute(stmt)}


# --- SKM ------------------------------------------------------------------------------------


def finished_by(session: Session, site_ids: list[int], start: date, end: date,
                key: Any) -> dict[Any, int]:
    """Service users (finished tickets) in the period per key: the SKM population."""
    return {k: int(n) for k, n in session.execute(
        sa.select(key, sa.func.count())
        .where(E.site_id.in_(site_ids), E.day >= start, E.day <= end, E.type == "finished")
        .group_by(key))}


def survey_sums(session: Session, site_ids: list[int], start: date, end: date, key: Any
                ) -> dict[Any, tuple[int, list[int]]]:
    """{key: (respondents, nine score sums)} for the period's survey responses."""
    stmt = (sa.select(key, sa.func.count(), *[sa.func.sum(u) for u in _U])
            .where(S.site_id.in_(site_ids), S.day >= start, S.day <= end).group_by(key))
    return {row[0]: (int(row[1]), [int(v or 0) for v in row[2:]]) for row in session.execute(stmt)}


def skm_result(sums: list[int], n: int, weights: Any, population: int) -> dict[str, Any]:
    """The published figures of one agency or service: NRR per unsur, IKM x25, grade, sample."""
    r = ikm_from_sums(sums, n, weights)
    sample = sample_status(n, population)
    return {"respondents": n, "nrr": r.nrr_rounded if n else [None] * N_UNSUR,
            "ikm": r.ikm if n else None, "mutu": r.mutu if n else None,
            "kinerja": r.kinerja if n else None, "population": population,
            "sample_minimum": sample["minimum"], "sample_reached": bool(sample["reached"])}


def skm(session: Session, sl: Slice) -> dict[str, Any]:
    """Per agency of the slice's sites: the SKM result for the period and its follow-ups."""
    from app.services.follow_up import published_for
    from app.services.survey import get_weights

    weights = get_weights(session)
    sums = survey_sums(session, sl.site_ids, sl.start, sl.end, S.agency_id)
    population = finished_by(session, sl.site_ids, sl.start, sl.end, E.agency_id)
    agencies = session.execute(
        sa.select(Agency.id, Agency.code, Agency.name, Site.code)
        .join(Site, Site.id == Agency.site_id)
        .where(Agency.site_id.in_(sl.site_ids),
               sa.or_(Agency.is_active.is_(True),
                      Agency.id.in_(sorted(set(sums) | set(population)) or [0])))
        .order_by(Site.code, Agency.code)).all()
    rows = []
    for aid, code, name, site_code in agencies:
        n, s = sums.get(aid, (0, [0] * N_UNSUR))
        rows.append({"site_code": site_code, "period_from": sl.start.isoformat(),
                     "period_to": sl.end.isoformat(), "agency_code": code, "agency_name": name,
                     **skm_result(s, n, weights, population.get(aid, 0))})
    return {"from": sl.start.isoformat(), "to": sl.end.isoformat(),
            "sites": [s.code for s in sl.sites], "data": rows,
            "follow_up": published_for(session, sl.site_ids, sl.start, sl.end)}


def skm_flat(row: dict[str, Any]) -> dict[str, Any]:
    """An SKM row with the nine NRR values in columns nrr_u1..nrr_u9 (the CSV form)."""
    out = {k: v for k, v in row.items() if k != "nrr"}
    for i, v in enumerate(row["nrr"], start=1):
        out[f"nrr_u{i}"] = v
    return {k: out[k] for k in SKM_FIELDS}
