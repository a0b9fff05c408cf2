"""The published SKM (/skm, public) and the follow-up register's staff page (/skm/tindak-lanjut).

The public page is plain HTML with server-drawn SVG trend charts: no script, nothing from
outside the server, readable on any phone.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.api.deps import AnonCtxDep, CtxDep
from app.db.models import Agency, Service
from app.domain import skm_periods
from app.domain.errors import DomainError
from app.domain.ikm import UNSUR
from app.services import follow_up, skm_public
from app.services.policy import agency_ids_in_scope
from app.services.sitetime import local_day
from app.web.pages import page_user, render_page
from app.web.templating import render

router = APIRouter(include_in_schema=False)

# Chart geometry (SVG user units): the IKM axis runs 25..100, grade thresholds drawn as lines.
W, H, PAD_L, PAD_R, PAD_T, PAD_B = 320, 150, 34, 12, 12, 28
GRADE_LINES = [(88.31, "A"), (76.61, "B"), (65.0, "C")]


def _y(value: float) -> float:
    return round(PAD_T + (100 - value) / 75 * (H - PAD_T - PAD_B), 1)


def trend_chart(points: list[dict[str, Any]]) -> dict[str, Any]:
    """Coordinates for one agency's IKM trend (periods without respondents leave a gap)."""
    n = len(points)
    step = (W - PAD_L - PAD_R) / max(1, n - 1)
    dots, segments, current = [], [], []
    for i, p in enumerate(points):
        x = round(PAD_L + i * step, 1)
        if p["ikm"] is None:
            if current:
                segments.append(" ".join(current))
            current = []
            dots.append({"x": x, "y": None, "label": p["label"], "value": None})
            continue
        y = _y(float(p["ikm"]))
        current.append(f"{x},{y}")
        dots.append({"x": x, "y": y, "label": p["label"], "value": p["ikm"]})
    if current:
        segments.append(" ".join(current))
    return {"w": W, "h": H, "left": PAD_L, "right": W - PAD_R, "bottom": H - PAD_B,
            "segments": segments, "dots": dots,
            "grades": [{"y": _y(v), "v": v, "mutu": m} for v, m in GRADE_LINES],
            "ticks": [{"y": _y(v), "v": v} for v in (25, 50, 75, 100)]}


def _ref(value: str | None, default: date) -> date:
    try:
        return date.fromisoformat(value) if value else default
    except ValueError:
        return default


@router.get("/skm")
def skm_page(request: Request, ctx: AnonCtxDep) -> Response:
    q = request.query_params
    try:
        site = skm_public.find_site(ctx.session, q.get("site"))
    except DomainError:
        return render(request, "skm_public.html", status_code=404, missing=True)
    kind = q.get("period") if q.get("period") in skm_periods.KINDS else "quarter"
    ref = _ref(q.get("ref"), local_day(site, ctx.now))
    data = skm_public.page(ctx.session, site, kind, ref)
    for agency in data["agencies"]:
        agency["chart"] = trend_chart(agency["trend"])
    # Links to the neighbouring periods.
    prev_ref = skm_periods.bounds(kind, data["start"])[0].toordinal() - 1
    next_ref = data["end"].toordinal() + 1
    response = render(request, "skm_public.html", missing=False, unsur=UNSUR,
                      kinds=skm_periods.KINDS, prev_ref=date.fromordinal(prev_ref),
                      next_ref=date.fromordinal(next_ref), **data)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@router.get("/skm/tindak-lanjut")
def follow_up_page(request: Request, ctx: CtxDep) -> Response:
    """Managers enter and update the actions planned for low unsur (published on /skm)."""
    actor = page_user(request, ctx, "admin", "manager")
    scope = agency_ids_in_scope(ctx.session, actor)
    stmt = sa.select(Agency).where(Agency.is_active.is_(True)).order_by(Agency.name)
    if scope is not None:
        stmt = stmt.where(Agency.id.in_(sorted(scope) or [0]))
    agencies = list(ctx.session.scalars(stmt))
    services = list(ctx.session.scalars(
        sa.select(Service).where(Service.agency_id.in_([a.id for a in agencies] or [0]),
                                 Service.is_active.is_(True)).order_by(Service.name)))
    start, end = skm_periods.bounds("quarter", ctx.now.date())
    return render_page(request, "skm_follow_up.html", me=actor, agencies=agencies,
                       services=services, unsur=UNSUR, statuses=follow_up.STATUS_NAMES_ID,
                       period_from=start, period_to=end,
                       items=follow_up.list_for_staff(ctx))
