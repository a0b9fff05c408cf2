"""Staff sign-in and sign-out pages, shared by the counter console, dashboard and admin."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated
from urllib.parse import urlparse

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.api.deps import AnonCtxDep
from app.api.errors import request_lang
from app.domain.errors import DomainError
from app.services import auth, principal
from app.state import state_of
from app.web.session import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    check_form_csrf,
    clear_session,
    set_session,
)
from app.web.templating import page_lang, render

router = APIRouter(include_in_schema=False)
HOME_BY_ROLE = {"officer": "/counter", "manager": "/dashboard", "admin": "/dashboard"}


def _safe_next(value: str | None) -> str | None:
    # Only local paths: never redirect a freshly signed-in officer to another site.
    if not value or not value.startswith("/") or value.startswith("//"):
        return None
    return value if not urlparse(value).netloc else None


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = render(request, "login.html", csrf_token=token, next=_safe_next(next) or "",
                      error=None, username="")
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=state_of(request.app).settings.secure_cookies)
    return response


@router.post("/login")
def login_submit(
    request: Request,
    ctx: AnonCtxDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    lang = page_lang(request)

    def fail(code: str, message: str, status: int) -> Response:
        response = render(request, "login.html", status_code=status, csrf_token=cookie,
                          next=_safe_next(next) or "", error=message, error_code=code,
                          username=username)
        return response

    if not cookie or not hmac.compare_digest(cookie, csrf_token):
        err = DomainError("csrf_failed")
        return fail(err.code, err.message(lang), 403)
    settings = state_of(request.app).settings
    try:
        user = auth.authenticate(ctx, username, password,
                                 max_failures=settings.login_max_failures,
                                 lock_seconds=settings.login_lock_seconds,
                             address_max_failures=settings.login_address_max_failures)
    except DomainError as err:
        return fail(err.code, err.message(lang), err.status)
    if user.role not in HOME_BY_ROLE:
        err = DomainError("forbidden")
        return fail(err.code, err.message(lang), 403)
    target = _safe_next(next) or HOME_BY_ROLE[user.role]
    response = RedirectResponse(target, status_code=303)
    set_session(request, response, user)
    return response


@router.post("/logout")
def logout(request: Request, ctx: AnonCtxDep,
           csrf_token: Annotated[str, Form(max_length=100)] = "") -> Response:
    response = RedirectResponse("/login", status_code=303)
    if check_form_csrf(request, csrf_token):
        state = state_of(request.app)
        found = principal.resolve(ctx.session, tokens=state.token_signer,
                                  sessions=state.session_signer,
                                  cookie=request.cookies.get(SESSION_COOKIE))
        # Ends the session on the server: a copy of the cookie stops working too.
        auth.sign_out(ctx, found.principal)
        clear_session(response)
    else:
        response = RedirectResponse("/login?error=csrf", status_code=303)
    return response


def lang_of(request: Request) -> str:
    return request_lang(request)
