"""Request dependencies: one unit of work per request, and who is asking."""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, TypeVar

import anyio
from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app.domain.errors import DomainError
from app.services import principal
from app.services.context import Ctx, Principal
from app.services.unit_of_work import unit_of_work
from app.state import state_of

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
T = TypeVar("T")
SESSION_COOKIE = "mpp_session"
CSRF_HEADER = "x-csrf-token"


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def resolve_principal(request: Request, session: Session) -> Principal | None:
    """Bearer token (API clients, devices) or the browser session cookie (staff pages)."""
    state = state_of(request.app)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    found = principal.resolve(session, tokens=state.token_signer, sessions=state.session_signer,
                              bearer=token if scheme.lower() == "bearer" else None,
                              cookie=request.cookies.get(SESSION_COOKIE))
    if not csrf_holds(request, found.via, found.csrf):
        raise DomainError("csrf_failed")
    return found.principal


def csrf_holds(request: Request, via: str | None, csrf: str | None) -> bool:
    """Cookie-authenticated writes must prove they come from our own page."""
    if via != "cookie" or request.method in SAFE_METHODS:
        return True
    sent = request.headers.get(CSRF_HEADER, "")
    return bool(sent) and hmac.compare_digest(sent, csrf or "")


def staff_credential(request: Request) -> principal.StaffCredential | None:
    """The staff token or cookie a lean store checks against the user row itself (the same
    checks as resolve_principal); None when resolve_principal must answer (no credential, a
    device or partner key, a bad signature, a failed CSRF check)."""
    state = state_of(request.app)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    found = principal.staff_credential(
        tokens=state.token_signer, sessions=state.session_signer,
        bearer=token if scheme.lower() == "bearer" else None,
        cookie=request.cookies.get(SESSION_COOKIE))
    if found is None or not csrf_holds(request, found.via, found.csrf):
        return None
    return found


def get_ctx(request: Request) -> Iterator[Ctx]:
    yield from _unit_of_work(request, resolve=True)


def get_anon_ctx(request: Request) -> Iterator[Ctx]:
    """For sign-in: a stale session cookie must not get in the way."""
    yield from _unit_of_work(request, resolve=False)


def _unit_of_work(request: Request, *, resolve: bool) -> Iterator[Ctx]:
    """The request's unit of work (app/services/unit_of_work.py), with who is asking."""
    state = state_of(request.app)
    if resolve:
        from app.api.routes_partner_keys import admit_partner

        admit_partner(request)  # partner keys: rate limit and audit, in their own transaction
    readonly = request.method in SAFE_METHODS and state.settings.is_sqlite
    with unit_of_work(state.session_factory, state.bus, now=state.clock(), ip=client_ip(request),
                      readonly=readonly, metrics=state.metrics) as ctx:
        if resolve:
            ctx.actor = resolve_principal(request, ctx.session)
        yield ctx


async def run_unit_of_work(request: Request, work: Callable[[Ctx], T]) -> T:
    """Run a whole unit of work (session, principal, use case, commit) in one pool thread.

    With CtxDep FastAPI opens the unit of work, runs the endpoint and commits in three separate
    pool threads, each waiting for the event loop and a free thread in between. The hot paths
    (a kiosk issuing a ticket, a counter calling the next one) hold a row lock from their
    use case to their commit, so they use this instead: the commit follows the use case at once.
    """

    def run() -> T:
        with contextmanager(_unit_of_work)(request, resolve=True) as ctx:
            return work(ctx)

    return await anyio.to_thread.run_sync(run)


CtxDep = Annotated[Ctx, Depends(get_ctx, scope="function")]
AnonCtxDep = Annotated[Ctx, Depends(get_anon_ctx, scope="function")]
