"""Partner API keys (admin): create (the key shown once), list with last use and rate limit,
revoke. `admit_partner` runs before each request's unit of work: rate limit, last use, audit."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from pydantic import Field, StringConstraints

from app.api.deps import CtxDep, client_ip
from app.api.schemas import Id, Strict
from app.services import partner_keys
from app.services.principal import PARTNER_PREFIX
from app.state import state_of

router = APIRouter(prefix="/api/v1", tags=["partner-keys"])


class PartnerKeyIn(Strict):
    site_id: Id
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    scopes: Annotated[list[Literal["read:stats", "issue:tickets"]], Field(min_length=1,
                                                                          max_length=5)]
    service_ids: Annotated[list[Id], Field(max_length=200)] | None = None
    rate_per_minute: Annotated[int, Field(ge=1, le=6000)] = 60


def admit_partner(request: Request) -> None:
    """A request with a partner key: count it against the key's limit, note its use and audit
    it, in a short transaction of its own before the request's (so a refused or failing
    request still counts and is audited, and on SQLite the two never wait on each other)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.startswith(PARTNER_PREFIX):
        return
    state = state_of(request.app)
    session = state.session_factory()
    try:
        try:
            partner_keys.admit(session, token, now=state.clock(), ip=client_ip(request),
                               method=request.method, path=request.url.path)
        finally:
            session.commit()
    finally:
        session.close()


@router.post("/partner-keys", status_code=201)
def create_key(body: PartnerKeyIn, ctx: CtxDep) -> dict[str, Any]:
    """A scoped key for another system; `key` is in this answer only (stored hashed)."""
    row, token = partner_keys.create(ctx, site_id=body.site_id, name=body.name,
                                     scopes=list(body.scopes), service_ids=body.service_ids,
                                     rate_per_minute=body.rate_per_minute)
    return {**partner_keys.key_out(row), "key": token}


@router.get("/partner-keys")
def list_keys(ctx: CtxDep, site_id: Id | None = None) -> list[dict[str, Any]]:
    """Every key with its scopes, rate limit, uses this minute, last use and use count."""
    rows = partner_keys.list_keys(ctx, site_id)
    return [partner_keys.key_out(r, partner_keys.used_this_minute(ctx.session, r.id, ctx.now))
            for r in rows]


@router.delete("/partner-keys/{key_id}")
def revoke_key(key_id: Id, ctx: CtxDep) -> dict[str, Any]:
    """Revoke a key: it stops working at once (kept in the list for the audit trail)."""
    return partner_keys.key_out(partner_keys.revoke(ctx, key_id))
