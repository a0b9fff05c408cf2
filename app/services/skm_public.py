"""The public SKM page of a site: IKM per agency and service by period, the trend over the last
periods, respondents against the Krejcie & Morgan minimum, and the follow-up register."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.db.models import Agency, Service, Site
from app.domain import skm_periods
from app.domain.errors import NotFound
from app.domain.ikm import N_UNSUR
from app.services.follow_up import published_for
from app.services.open_data import E, S, finished_by, skm_result, survey_sums
from app.services.survey import get_weights

TREND_PERIODS = 4


def find_site(session: Session, site: str | None) -> Site:
    """A site by code or id; without one, the first active site."""
    if site:
        stmt = sa.select(Site).where(Site.code == site)
        if site.isdigit():
            stmt = sa.select(Site).where(sa.or_(Site.code == site, Site.id == int(site)))
        found = session.scalars(stmt.limit(1)).first()
    else:
        found = session.scalars(sa.select(Site).where(Site.is_active.is_(True))
                                .order_by(Site.id).limit(1)).first()
    if found is None:
        raise NotFound("Lokasi", "Site")
    return found


def page(session: Session, site: Site, kind: str, ref: date) -> dict[str, Any]:
    weights = get_weights(session)
    periods = skm_periods.series(kind, ref, TREND_PERIODS)
    agencies = list(session.execute(
        sa.select(Agency.id, Agency.code, Agency.name).where(Agency.site_id == site.id,
                                                             Agency.is_active.is_(True))
        .order_by(Agency.name)))
    trend: dict[int, list[dict[str, Any]]] = {a.id: [] for a in agencies}
    for start, end in periods:
        sums = survey_sums(session, [site.id], start, end, S.agency_id)
        pop = finished_by(session, [site.id], start, end, E.agency_id)
        for a in agencies:
            n, s = sums.get(a.id, (0, [0] * N_UNSUR))
            r = skm_result(s, n, weights, pop.get(a.id, 0))
            trend[a.id].append({"label": skm_periods.label(kind, start), "ikm": r["ikm"],
                                "respondents": n})
    start, end = periods[-1]
    by_agency = survey_sums(session, [site.id], start, end, S.agency_id)
    pop_agency = finished_by(session, [site.id], start, end, E.agency_id)
    by_service = survey_sums(session, [site.id], start, end, S.service_id)
    pop_service = finished_by(session, [site.id], start, end, E.service_id)
    services: dict[int, list[Any]] = {}
    for sv in session.execute(sa.select(Service.id, Service.agency_id, Service.code,
                                        Service.name).where(Service.site_id == site.id,
                                                            Service.is_active.is_(True))
                              .order_by(Service.name)):
        services.setdefault(sv.agency_id, []).append(sv)
    rows = []
    for a in agencies:
        n, s = by_agency.get(a.id, (0, [0] * N_UNSUR))
        svc_rows = []
        for sv in services.get(a.id, []):
            sn, ss = by_service.get(sv.id, (0, [0] * N_UNSUR))
            svc_rows.append({"code": sv.code, "name": sv.name,
                             **skm_result(ss, sn, weights, pop_service.get(sv.id, 0))})
        rows.append({"id": a.id, "code": a.code, "name": a.name,
                     **skm_result(s, n, weights, pop_agency.get(a.id, 0)),
                     "services": svc_rows, "trend": trend[a.id]})
    return {"site": site, "kind": kind, "start": start, "end": end,
            "label": skm_periods.label(kind, start), "agencies": rows,
            "follow_up": published_for(session, [site.id], start, end),
            "periods": [skm_periods.label(kind, a) for a, _ in periods]}
