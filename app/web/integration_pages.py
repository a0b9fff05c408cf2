"""/admin/integrasi (admins): webhook subscriptions with their delivery log, and partner API
keys. The page is a frame; admin_integration.js works through /api/v1/webhooks and
/api/v1/partner-keys (secrets and keys are shown once, right after they are made)."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.api.deps import CtxDep
from app.db.models import Service, Site
from app.domain.webhooks import EVENTS
from app.services import webhooks
from app.services.partner_keys import SCOPES
from app.web.pages import page_user, render_page

router = APIRouter(include_in_schema=False)


@router.get("/admin/integrasi")
def integration_page(request: Request, ctx: CtxDep) -> Response:
    actor = page_user(request, ctx, "admin")
    sites = list(ctx.session.scalars(sa.select(Site).order_by(Site.id)))
    services = list(ctx.session.scalars(sa.select(Service).where(Service.is_active.is_(True))
                                        .order_by(Service.site_id, Service.prefix)))
    return render_page(request, "admin_integration.html", me=actor, sites=sites,
                       services=services, events=EVENTS, scopes=SCOPES,
                       notices=webhooks.notices(ctx.session))
