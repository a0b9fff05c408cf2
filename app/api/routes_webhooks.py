"""Webhook subscriptions (admin): create (the secret shown once), list, change, delete, the
delivery log and redelivery by hand. Delivery itself: app/services/webhooks.py."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import Field, StringConstraints

from app.api.deps import CtxDep
from app.api.schemas import Id, Strict
from app.services import webhooks
from app.state import state_of

router = APIRouter(prefix="/api/v1", tags=["webhooks"])
Url = Annotated[str, StringConstraints(min_length=8, max_length=500)]
Events = Annotated[list[Annotated[str, StringConstraints(max_length=40)]],
                   Field(min_length=1, max_length=20)]


class WebhookIn(Strict):
    url: Url
    events: Events
    site_id: Id
    description: Annotated[str, StringConstraints(max_length=200)] | None = None


class WebhookPatch(Strict):
    url: Url | None = None
    events: Events | None = None
    description: Annotated[str, StringConstraints(max_length=200)] | None = None
    is_active: bool | None = None


def _allow_private(request: Request) -> bool:
    return bool(state_of(request.app).settings.webhook_allow_private_targets)


@router.post("/webhooks", status_code=201)
def create_webhook(body: WebhookIn, ctx: CtxDep, request: Request) -> dict[str, Any]:
    """Subscribe a URL to events of a site; the answer holds the signing secret, only now."""
    ep, secret = webhooks.create(ctx, url=body.url, events=body.events, site_id=body.site_id,
                                 description=body.description,
                                 allow_private=_allow_private(request))
    return {**webhooks.endpoint_out(ep), "secret": secret}


@router.get("/webhooks")
def list_webhooks(ctx: CtxDep, site_id: Id | None = None) -> list[dict[str, Any]]:
    return [webhooks.endpoint_out(ep) for ep in webhooks.list_endpoints(ctx, site_id)]


@router.get("/webhooks/{endpoint_id}")
def get_webhook(endpoint_id: Id, ctx: CtxDep) -> dict[str, Any]:
    return webhooks.endpoint_out(webhooks.get(ctx, endpoint_id))


@router.patch("/webhooks/{endpoint_id}")
def patch_webhook(endpoint_id: Id, body: WebhookPatch, ctx: CtxDep, request: Request
                  ) -> dict[str, Any]:
    """Change URL, events or description; `is_active: true` switches a disabled one on again
    (what waited is sent at once, in order)."""
    ep = webhooks.update(ctx, endpoint_id, body.model_dump(exclude_unset=True),
                         allow_private=_allow_private(request))
    return webhooks.endpoint_out(ep)


@router.delete("/webhooks/{endpoint_id}", status_code=204)
def delete_webhook(endpoint_id: Id, ctx: CtxDep) -> Response:
    webhooks.delete(ctx, endpoint_id)
    return Response(status_code=204)


@router.get("/webhooks/{endpoint_id}/deliveries")
def list_deliveries(endpoint_id: Id, ctx: CtxDep,
                    limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[dict[str, Any]]:
    """Newest first: status, attempts with HTTP status and response time, next attempt."""
    return webhooks.deliveries(ctx, endpoint_id, limit=limit)


@router.post("/webhooks/{endpoint_id}/deliveries/{delivery_id}/redeliver", status_code=202)
def redeliver(endpoint_id: Id, delivery_id: Id, ctx: CtxDep) -> dict[str, Any]:
    webhooks.redeliver(ctx, endpoint_id, delivery_id)
    return {"id": delivery_id, "status": "pending"}
