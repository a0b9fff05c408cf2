"""Counter officer console: the counter picker, the console page, and its small API.

The pages only render the frame; every action goes through the public REST API with the
session cookie and the X-CSRF-Token header, and the live view comes over WS /ws/counter/{id}.
"""

from __future__ import annotations

from itertools import groupby
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.api.deps import CtxDep
from app.api.schemas import Id
from app.db.models import Counter, User
from app.domain.errors import DomainError
from app.services import config, counter_view, endofday
from app.services.context import Principal
from app.web.pages import page_user, render_page

router = APIRouter()
STAFF = ("officer", "manager", "admin")


def _mode(actor: Principal, counter: Counter) -> str:
    """"operate" for an officer of the counter's agency; everyone else in scope watches."""
    if actor.role == "officer" and actor.agency_id == counter.agency_id:
        return "operate"
    return "watch"


def _officer_names(ctx: Any, counters: list[Counter]) -> dict[int, str]:
    ids = {c.officer_id for c in counters if c.officer_id is not None}
    if not ids:
        return {}
    rows = ctx.session.execute(sa.select(User.id, User.full_name, User.username)
                               .where(User.id.in_(ids)))
    return {r.id: r.full_name or r.username for r in rows}


@router.get("/counter", include_in_schema=False)
def counter_picker(request: Request, ctx: CtxDep) -> Response:
    """Pick a counter: officers see their agency's, managers and the admin every one in scope."""
    actor = page_user(request, ctx, *STAFF)
    counters = config.list_counters(ctx)
    names = _officer_names(ctx, counters)
    rows = [{
        "id": c.id, "number": c.number, "name": c.name, "agency": c.agency.name,
        "agency_id": c.agency_id, "is_open": c.is_open, "officer_id": c.officer_id,
        "officer": names.get(c.officer_id) if c.officer_id else None,
        "services": ", ".join(s.name for s in c.services if s.is_active),
        "mode": _mode(actor, c),
    } for c in counters]
    sites = config.list_sites(ctx) if actor.role == "admin" else []
    return render_page(request, "counter_picker.html", me=actor, counters=rows, sites=sites,
                       auto=request.query_params.get("pick") != "1")


@router.get("/counter/{counter_id}", include_in_schema=False)
def counter_console(counter_id: Id, request: Request, ctx: CtxDep) -> Response:
    actor = page_user(request, ctx, *STAFF)
    try:
        counter = config.get_counter(ctx, counter_id)
    except DomainError as err:
        return render_page(request, "counter_error.html", status_code=err.status,
                           message=err.message(_lang(request)), code=err.code, me=actor)
    mode = _mode(actor, counter)
    targets: list[dict[str, Any]] = []
    if mode == "operate":
        # Officers transfer citizens to any service of the site, other agencies included.
        services = [s for s in config.list_services(ctx, site_id=counter.agency.site_id)
                    if s.agency.is_active]
        services.sort(key=lambda s: (s.agency.name, s.name))
        for agency, group in groupby(services, key=lambda s: s.agency.name):
            targets.append({"agency": agency, "services": [
                {"id": s.id, "name": s.name, "prefix": s.prefix} for s in group]})
    return render_page(request, "counter.html", me=actor, counter=counter, mode=mode,
                       targets=targets)


def _lang(request: Request) -> str:
    from app.web.templating import page_lang

    return page_lang(request)


@router.get("/api/v1/counters/{counter_id}/console", tags=["counter"])
def console_snapshot(counter_id: Id, ctx: CtxDep) -> dict[str, Any]:
    """What the console shows now (the same body as the websocket's snapshot)."""
    return counter_view.console(ctx, counter_id)


@router.post("/api/v1/sites/{site_id}/close-day", tags=["counter"])
def close_day(site_id: Id, ctx: CtxDep) -> dict[str, Any]:
    """Admin: end the site's day now: unserved tickets become closed_out, counters close."""
    result = endofday.close_site_day(ctx, site_id)
    return {"site_id": result.site_id, "day": result.day.isoformat(),
            "tickets_closed": result.tickets_closed, "counters_closed": result.counters_closed}
