"""Statistics, dashboard data, exports, the SKM survey and its settings."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import Field, StringConstraints

from app.api import ratelimit
from app.api.deps import CtxDep
from app.api.schemas import Id, Strict
from app.domain.ikm import UNSUR
from app.domain.reporting import resolve_period
from app.services import dashboard, stats, survey
from app.services.context import Ctx

router = APIRouter(prefix="/api/v1")

Period = Literal["today", "day", "week", "month", "quarter", "semester", "year", "range"]
Dimension = Literal["site", "agency", "service", "counter", "officer"]
FromQ = Annotated[date | None, Query(alias="from")]
ToQ = Annotated[date | None, Query(alias="to")]


def _scope(ctx: Ctx, *, start: date | None, end: date | None, period: str | None,
           ref: date | None, site_id: int | None, agency_id: int | None,
           service_id: int | None, counter_id: int | None = None,
           user_id: int | None = None) -> stats.Scope:
    """from/to win; else a named period around `ref` (default: today at the site)."""
    scope = stats.build_scope(ctx, start=start, end=end, site_id=site_id, agency_id=agency_id,
                              service_id=service_id, counter_id=counter_id, user_id=user_id)
    if start is None and end is None and period not in (None, "today", "range"):
        first, last = resolve_period(period, ref or scope.start)
        scope = stats.build_scope(ctx, start=first, end=last, site_id=site_id,
                                  agency_id=agency_id, service_id=service_id,
                                  counter_id=counter_id, user_id=user_id)
    return scope


@router.get("/stats/summary", tags=["stats"])
def get_summary(ctx: CtxDep, start: FromQ = None, end: ToQ = None, site_id: Id | None = None,
                agency_id: Id | None = None, service_id: Id | None = None,
                counter_id: Id | None = None, user_id: Id | None = None,
                period: Period | None = None, ref: date | None = None) -> dict[str, Any]:
    """Issued, served, no-shows, waiting now; wait and service time (mean, median, p90)."""
    scope = _scope(ctx, start=start, end=end, period=period, ref=ref, site_id=site_id,
                   agency_id=agency_id, service_id=service_id, counter_id=counter_id,
                   user_id=user_id)
    return stats.summary(ctx, scope)


@router.get("/stats/visits", tags=["stats"])
def get_visit_stats(ctx: CtxDep, start: FromQ = None, end: ToQ = None, site_id: Id | None = None,
                    agency_id: Id | None = None, period: Period | None = None,
                    ref: date | None = None) -> dict[str, Any]:
    """Visits with several services: how many, steps per visit, the whole visit's time, the
    time between steps, the share that used more than one agency; by service package."""
    from app.services.visit_stats import visit_summary

    scope = _scope(ctx, start=start, end=end, period=period, ref=ref, site_id=site_id,
                   agency_id=agency_id, service_id=None)
    return visit_summary(ctx.session, scope)


@router.get("/stats/report", tags=["stats"])
def get_report(ctx: CtxDep, start: FromQ = None, end: ToQ = None, site_id: Id | None = None,
               agency_id: Id | None = None, service_id: Id | None = None,
               counter_id: Id | None = None, user_id: Id | None = None,
               period: Period | None = None, ref: date | None = None,
               by: Dimension = "service") -> dict[str, Any]:
    """Per day, per hour, weekday x hour heat map, a breakdown by `by`, quota use."""
    scope = _scope(ctx, start=start, end=end, period=period, ref=ref, site_id=site_id,
                   agency_id=agency_id, service_id=service_id, counter_id=counter_id,
                   user_id=user_id)
    return stats.report(ctx, scope, by)


def _safe_cell(value: Any) -> Any:
    # Names typed by staff must not run as spreadsheet formulas (CSV/XLSX injection).
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _filename(rep: dict[str, Any], ext: str) -> str:
    return f"statistik-{rep['by']}-{rep['from']}_{rep['to']}.{ext}"


@router.get("/stats/export.csv", tags=["stats"])
def export_csv(ctx: CtxDep, start: FromQ = None, end: ToQ = None, site_id: Id | None = None,
               agency_id: Id | None = None, service_id: Id | None = None,
               counter_id: Id | None = None, user_id: Id | None = None,
               period: Period | None = None, ref: date | None = None,
               by: Dimension = "service") -> Response:
    """The rows behind the summary (one per `by`, plus TOTAL), Indonesian column names."""
    scope = _scope(ctx, start=start, end=end, period=period, ref=ref, site_id=site_id,
                   agency_id=agency_id, service_id=service_id, counter_id=counter_id,
                   user_id=user_id)
    rep = stats.report(ctx, scope, by)
    header, rows = stats.export_table(rep)
    buf = io.StringIO()
    # The BOM makes Excel read the file as UTF-8.
    buf.write("\ufeff")
    writer = csv.writer(buf)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_safe_cell(v) for v in row])
    return Response(buf.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{_filename(rep, "csv")}"'})


@router.get("/stats/export.xlsx", tags=["stats"])
def export_xlsx(ctx: CtxDep, start: FromQ = None, end: ToQ = None, site_id: Id | None = None,
                agency_id: Id | None = None, service_id: Id | None = None,
                counter_id: Id | None = None, user_id: Id | None = None,
                period: Period | None = None, ref: date | None = None,
                by: Dimension = "service") -> Response:
    """The same numbers as an Excel workbook: summary, per day, per hour, quota."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    scope = _scope(ctx, start=start, end=end, period=period, ref=ref, site_id=site_id,
                   agency_id=agency_id, service_id=service_id, counter_id=counter_id,
                   user_id=user_id)
    rep = stats.report(ctx, scope, by)
    wb = Workbook()
    sheets = [("Ringkasan", stats.export_table(rep)), ("Per hari", stats.export_days(rep)),
              ("Per jam", stats.export_hours(rep)), ("Kuota", stats.export_quota(rep))]
    for index, (title, (header, rows)) in enumerate(sheets):
        ws = wb.active if index == 0 else wb.create_sheet()
        assert ws is not None
        ws.title = title
        ws.append(header)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in rows:
            ws.append([_safe_cell(v) for v in row])
        for col in ws.columns:
            width = max(len(str(c.value or "")) for c in col)
            ws.column_dimensions[col[0].column_letter].width = min(40, max(10, width + 2))
    buf = io.BytesIO()
    wb.save(buf)
    return Response(
        buf.getvalue(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{_filename(rep, "xlsx")}"'})


@router.get("/stats/ikm", tags=["stats"])
def get_ikm(ctx: CtxDep, start: FromQ = None, end: ToQ = None, site_id: Id | None = None,
            agency_id: Id | None = None, service_id: Id | None = None,
            period: Period | None = None, ref: date | None = None) -> dict[str, Any]:
    """SKM result by the PermenPANRB 14/2017 method: NRR per unsur, IKM, mutu, sample size."""
    scope = _scope(ctx, start=start, end=end, period=period, ref=ref, site_id=site_id,
                   agency_id=agency_id, service_id=service_id)
    return survey.ikm_report(ctx, scope)


@router.get("/stats/dashboard", tags=["stats"])
def get_dashboard(ctx: CtxDep, site_id: Id | None = None) -> dict[str, Any]:
    """The live board's snapshot (the same as the first message of WS /ws/dashboard)."""
    site = dashboard.resolve_site(ctx.session, ctx.actor, site_id)
    return dashboard.snapshot(ctx.session, ctx.actor, site, ctx.now)


# --- settings -------------------------------------------------------------------------------


class WeightsIn(Strict):
    # Fractions as text ("1/9") keep the regulation's exact weight; numbers are accepted too.
    weights: Annotated[list[float | Annotated[str, StringConstraints(max_length=32)]],
                       Field(min_length=9, max_length=9)] | None = None


class AlertsIn(Strict):
    default_minutes: Annotated[int, Field(ge=1, le=600)] | None = None
    services: dict[Id, Annotated[int, Field(ge=1, le=600)] | None] | None = None


@router.get("/stats/settings/ikm-weights", tags=["stats"])
def get_weights(ctx: CtxDep) -> dict[str, Any]:
    return survey.weights_out(survey.read_weights(ctx))


@router.put("/stats/settings/ikm-weights", tags=["stats"])
def put_weights(body: WeightsIn, ctx: CtxDep) -> dict[str, Any]:
    """Admins only; nine weights that add up to 1, or null for the default 1/9 each."""
    return survey.weights_out(survey.set_weights(ctx, body.weights))


@router.get("/stats/settings/alerts", tags=["stats"])
def get_alerts(ctx: CtxDep) -> dict[str, Any]:
    return dashboard.read_thresholds(ctx)


@router.put("/stats/settings/alerts", tags=["stats"])
def put_alerts(body: AlertsIn, ctx: CtxDep) -> dict[str, Any]:
    """Longest-wait alert thresholds in minutes: per service (in scope) and a default (admin)."""
    return dashboard.set_thresholds(ctx, default_minutes=body.default_minutes,
                                    services=body.services)


# --- SKM survey -----------------------------------------------------------------------------


class SurveyIn(Strict):
    #: The citizen's code (printed on the ticket, in its QR); or, from a survey tablet (device
    #: token), the `ticket_id` the tablet is offering. Exactly one of the two.
    tracking_code: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    ticket_id: Id | None = None
    answers: Annotated[list[Annotated[int, Field(ge=1, le=4)]],
                       Field(min_length=9, max_length=9)]
    comment: Annotated[str, StringConstraints(max_length=1000)] | None = None


@router.get("/surveys/unsur", tags=["survey"])
def get_unsur() -> dict[str, Any]:
    """The nine unsur with their 1-4 answer labels (public)."""
    return {"unsur": [{"code": u.code, "name": u.name_id, "name_en": u.name_en,
                       "labels": list(u.labels_id), "labels_en": list(u.labels_en)}
                      for u in UNSUR]}


@router.post("/surveys", status_code=201, tags=["survey"],
             dependencies=[Depends(ratelimit.limit_misses("survey"), scope="function")])
def post_survey(body: SurveyIn, ctx: CtxDep) -> dict[str, Any]:
    """The citizen: one answer set per finished ticket; 409 before it is done or when repeated.

    Anonymous with the ticket's `tracking_code` (source "online"), or a counter's survey tablet
    (device token) with the `ticket_id` it offers (source "tablet"). A staff session or staff
    token is refused with 403 `survey_staff_session`."""
    response = survey.submit_answer(ctx, tracking_code=body.tracking_code,
                                    ticket_id=body.ticket_id, answers=body.answers,
                                    comment=body.comment)
    return {"id": response.id, "submitted_at": response.submitted_at.isoformat()}


class PaperResponse(Strict):
    answers: Annotated[list[Annotated[int, Field(ge=1, le=4)]],
                       Field(min_length=9, max_length=9)]
    comment: Annotated[str, StringConstraints(max_length=1000)] | None = None


class PaperIn(Strict):
    service_id: Id
    day: date
    source: Literal["paper", "field"] = "paper"
    responses: Annotated[list[PaperResponse], Field(min_length=1, max_length=500)]


@router.post("/surveys/paper", status_code=201, tags=["survey"])
def post_paper(body: PaperIn, ctx: CtxDep) -> dict[str, Any]:
    """Manager: enter paper (or field officers') questionnaires in bulk, marked by source."""
    stored = survey.enter_paper(ctx, service_id=body.service_id, day=body.day,
                                source=body.source,
                                responses=[(r.answers, r.comment) for r in body.responses])
    return {"stored": stored, "source": body.source}


def _pending_out(counter: Any, ticket: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"counter": {"id": counter.id, "name": counter.name,
                                       "number": counter.number,
                                       "agency": counter.agency.name}}
    if ticket is None:
        return {**out, "ticket": None}
    return {**out, "ticket": {"id": ticket.id, "number": ticket.number,
                              "service": ticket.service.name,
                              "finished_at": ticket.finished_at.isoformat()
                              if ticket.finished_at else None}}


@router.get("/surveys/pending", tags=["survey"])
def get_pending(ctx: CtxDep, counter_id: Id) -> dict[str, Any]:
    """Staff of the counter: the ticket just finished there that awaits its survey, until the
    next citizen is called there. Never the ticket's tracking code."""
    return _pending_out(*survey.pending_for_counter(ctx, counter_id))


@router.get("/surveys/tablet", tags=["survey"])
def get_tablet(ctx: CtxDep) -> dict[str, Any]:
    """The survey tablet (device token of kind "tablet"): its counter and the ticket it offers
    now; it answers with POST /surveys {ticket_id, answers}. Never a tracking code."""
    return _pending_out(*survey.pending_at_tablet(ctx))
