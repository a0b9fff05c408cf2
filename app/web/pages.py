"""Helpers for server-rendered staff pages: who is signed in, and the redirect when nobody is."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.api.errors import http_error_json
from app.domain.errors import DomainError
from app.services.context import Ctx, Principal
from app.state import state_of
from app.web.session import csrf_of
from app.web.templating import render


class PageRedirect(Exception):
    """Raised by page helpers; turned into a redirect to the sign-in page."""

    def __init__(self, response: Response) -> None:
        self.response = response


def page_user(request: Request, ctx: Ctx, *roles: str) -> Principal:
    """The signed-in staff member, or a redirect to /login (or 403 for the wrong role)."""
    actor = ctx.actor
    if actor is None or actor.kind != "user":
        query = f"?{request.url.query}" if request.url.query else ""
        target = quote(str(request.url.path) + query)
        raise PageRedirect(RedirectResponse(f"/login?next={target}", status_code=303))
    if roles and actor.role not in roles:
        raise DomainError("forbidden")
    return actor


def render_page(request: Request, template: str, *, status_code: int = 200, **context: Any
                ) -> HTMLResponse:
    """Render a staff page with the CSRF token the page's scripts send as X-CSRF-Token."""
    return render(request, template, status_code=status_code,
                  csrf_token_session=csrf_of(request) or "", **context)


def ensure_device_cookie(request: Request, response: Response) -> None:
    """Give a browser its random device cookie (app/api/ratelimit.DEVICE_COOKIE) if it has
    none: the booking limits and the join's one-ticket-per-browser rule count by it."""
    import secrets

    from app.api.ratelimit import DEVICE_COOKIE

    if DEVICE_COOKIE not in request.cookies:
        response.set_cookie(DEVICE_COOKIE, secrets.token_urlsafe(16), max_age=30 * 86400,
                            httponly=True, samesite="lax",
                            secure=state_of(request.app).settings.secure_cookies)


def wants_html(request: Request) -> bool:
    """A browser asking for a page, not an API client (which keeps the JSON error body)."""
    path = request.url.path
    if path.startswith(("/api/", "/ws/")) or path in ("/openapi.json", "/metrics"):
        return False
    return "text/html" in request.headers.get("accept", "")


def install(app: Any) -> None:
    @app.exception_handler(PageRedirect)
    async def _redirect(request: Request, exc: PageRedirect) -> Response:
        return exc.response

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404 and wants_html(request):
            return render(request, "not_found.html", status_code=404)
        return await http_error_json(request, exc)
