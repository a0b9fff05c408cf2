"""The public page of one service (/layanan/{id}): its standar pelayanan, printable.

UU 25/2009 Pasal 21 and PermenPANRB 15/2014 name six components that face the public; this
page shows all six with the agency, the opening hours and the priority groups it serves, so a
front office can print it for the counter or the notice board.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.api.deps import CtxDep
from app.db.models import Agency, Service, Site
from app.domain.errors import NotFound
from app.domain.hours import DAY_NAMES_ID, DAYS
from app.domain.priority import LABELS_EN, LABELS_ID, groups_for
from app.web.templating import page_lang, render

router = APIRouter(include_in_schema=False)

_DAY_NAMES_EN = dict(zip(DAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                                "Saturday", "Sunday"), strict=True))


@router.get("/layanan/{service_id}")
def service_page(service_id: int, request: Request, ctx: CtxDep) -> Response:
    service = ctx.session.get(Service, service_id) if 0 < service_id < 2**31 else None
    agency = ctx.session.get(Agency, service.agency_id) if service is not None else None
    site = ctx.session.get(Site, service.site_id) if service is not None else None
    if (service is None or agency is None or site is None or not service.is_active
            or not agency.is_active or not site.is_active):
        raise NotFound("Layanan", "Service")
    lang = page_lang(request)
    names = DAY_NAMES_ID if lang == "id" else _DAY_NAMES_EN
    labels = LABELS_ID if lang == "id" else LABELS_EN
    week = None
    if service.opening_hours is not None:
        week = [(names[d], ", ".join(f"{a}-{b}" for a, b in service.opening_hours.get(d) or []))
                for d in DAYS]
    return render(request, "layanan.html", service=service, agency=agency, site=site,
                  week=week, groups=[labels[g] for g in groups_for(sick=service.priority_sick)])
