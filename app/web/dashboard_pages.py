"""Manager pages: the live board (/dashboard), reports with charts, the printable IKM report.

The live board and the report page render a frame; their data comes from WS /ws/dashboard and
GET /api/v1/stats/report. The IKM report is rendered on the server so it prints as it is.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.api.deps import CtxDep
from app.api.schemas import parse_id
from app.db.models import Service, Site
from app.domain.errors import DomainError
from app.domain.ikm import UNSUR
from app.domain.reporting import PERIODS, resolve_period
from app.services import dashboard, stats, survey
from app.services.context import Ctx, Principal
from app.services.policy import site_ids_in_scope
from app.services.sitetime import local_day
from app.web.pages import page_user, render_page
from app.web.templating import page_lang

router = APIRouter(include_in_schema=False)
ROLES = ("admin", "manager")


def _int(value: str | None) -> int | None:
    return parse_id(value)


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _context(request: Request, ctx: Ctx, actor: Principal) -> dict[str, Any]:
    """The site picked (visible to the actor) and what the filter menus may offer."""
    site = dashboard.resolve_site(ctx.session, actor, _int(request.query_params.get("site_id")))
    scope = site_ids_in_scope(ctx.session, actor)
    stmt = sa.select(Site).where(Site.is_active.is_(True)).order_by(Site.name)
    if scope is not None:
        stmt = stmt.where(Site.id.in_(sorted(scope)))
    agencies = dashboard.visible_agencies(ctx.session, actor, site)
    services = list(ctx.session.scalars(
        sa.select(Service).where(Service.agency_id.in_([a.id for a in agencies]))
        .order_by(Service.prefix)))
    return {"me": actor, "site": site, "sites": list(ctx.session.scalars(stmt)),
            "agencies": agencies, "services": services,
            "today": local_day(site, ctx.now)}


@router.get("/dashboard")
def dashboard_page(request: Request, ctx: CtxDep) -> Response:
    actor = page_user(request, ctx, *ROLES)
    data = _context(request, ctx, actor)
    return render_page(request, "dashboard.html", active="live", **data)


@router.get("/dashboard/reports")
def reports_page(request: Request, ctx: CtxDep) -> Response:
    actor = page_user(request, ctx, *ROLES)
    data = _context(request, ctx, actor)
    return render_page(request, "reports.html", active="reports", periods=PERIODS, **data)


@router.get("/dashboard/ikm")
def ikm_page(request: Request, ctx: CtxDep) -> Response:
    """The SKM/IKM report for a period, agency or service; printable as it is."""
    actor = page_user(request, ctx, *ROLES)
    data = _context(request, ctx, actor)
    q = request.query_params
    period = q.get("period") or "quarter"
    if period not in PERIODS:
        period = "quarter"
    ref = _date(q.get("ref")) or data["today"]
    start, end = _date(q.get("from")), _date(q.get("to"))
    if period != "range" or start is None or end is None:
        start, end = resolve_period("month" if period == "range" else period, ref)
    agency_id, service_id = _int(q.get("agency_id")), _int(q.get("service_id"))
    error = None
    report = None
    try:
        scope = stats.build_scope(ctx, start=start, end=end, site_id=data["site"].id,
                                  agency_id=agency_id, service_id=service_id)
        report = survey.ikm_report(ctx, scope)
    except DomainError as exc:
        if exc.code in ("forbidden", "not_authenticated"):
            raise
        error = exc.message(page_lang(request))
    weights = survey.get_weights(ctx.session)
    sign = {"place": q.get("sign_place", "")[:100], "title": q.get("sign_title", "")[:200],
            "name": q.get("sign_name", "")[:200], "nip": q.get("sign_nip", "")[:30],
            "date": _date(q.get("sign_date")) or data["today"]}
    return render_page(
        request, "ikm.html", active="ikm", periods=PERIODS, period=period, ref=ref,
        start=start, end=end, agency_id=agency_id, service_id=service_id, report=report,
        error=error, unsur=UNSUR, weights=[str(w) for w in weights], sign=sign, **data)
