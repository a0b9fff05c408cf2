"""/admin: configure the mall from the browser (admins; managers for their own agencies).

The pages render a frame with the labels of the current language; admin.js does the work
through the REST API (/api/v1/sites, agencies, services, counters, users, boards, devices,
special days, audit) with the session cookie and the X-CSRF-Token header, and shows each
error's message next to the field it is about.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from app.api.deps import CtxDep
from app.domain.errors import NotFound
from app.services import config, webhooks
from app.web.pages import page_user, render_page

router = APIRouter(include_in_schema=False)

# Section slug -> which roles see it. Managers configure agencies in their scope; the site-wide
# things (holidays, boards, devices) only when they manage the whole site.
SECTIONS: dict[str, tuple[str, ...]] = {
    "services": ("admin", "manager"),
    "agencies": ("admin", "manager"),
    "counters": ("admin", "manager"),
    "users": ("admin", "manager"),
    "holidays": ("admin", "site-manager"),
    "boards": ("admin", "site-manager"),
    "devices": ("admin", "site-manager"),
    "sites": ("admin",),
    "audit": ("admin",),
    "settings": ("admin",),
}


def _allowed(role: str, site_wide: bool, section: str) -> bool:
    roles = SECTIONS[section]
    return role in roles or (role == "manager" and site_wide and "site-manager" in roles)


@router.get("/admin")
def admin_home(request: Request, ctx: CtxDep) -> Response:
    return admin_section(request, ctx, "services")


@router.get("/admin/{section}")
def admin_section(request: Request, ctx: CtxDep, section: str) -> Response:
    actor = page_user(request, ctx)
    if actor.role not in ("admin", "manager"):
        # An officer who follows an old link lands on their own screen, not on an error.
        return RedirectResponse("/counter", status_code=303)
    if section not in SECTIONS:
        raise NotFound("Halaman", "Page")
    site_wide = actor.role == "manager" and actor.agency_id is None
    if not _allowed(actor.role, site_wide, section):
        return RedirectResponse("/admin", status_code=303)
    sections = [s for s in SECTIONS if _allowed(actor.role, site_wide, s)]
    sites = config.list_sites(ctx)
    # Webhook endpoints switched off after a day of failures (app/services/webhooks.py).
    off = webhooks.notices(ctx.session) if actor.role == "admin" else []
    return render_page(request, "admin.html", me=actor, section=section, sections=sections,
                       sites=[{"id": s.id, "code": s.code, "name": s.name} for s in sites],
                       can_manage_site=actor.role == "admin" or site_wide, webhooks_off=off)
