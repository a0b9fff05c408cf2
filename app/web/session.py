"""Browser sessions for staff: a signed, HttpOnly, SameSite cookie carrying a CSRF secret."""

from __future__ import annotations

import hmac

from fastapi import Request, Response

from app.db.models import User
from app.services.principal import SessionSigner  # noqa: F401 - imported from here by main
from app.state import state_of

SESSION_COOKIE = "mpp_session"
LOGIN_CSRF_COOKIE = "mpp_login_csrf"


def set_session(request: Request, response: Response, user: User) -> str:
    state = state_of(request.app)
    raw, csrf = state.session_signer.issue(user)
    response.set_cookie(SESSION_COOKIE, raw, max_age=state.session_signer.max_age, httponly=True,
                        samesite="lax", secure=state.settings.secure_cookies, path="/")
    return csrf


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


def csrf_of(request: Request) -> str | None:
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    data = state_of(request.app).session_signer.read(raw)
    return str(data["c"]) if data and "c" in data else None


def check_form_csrf(request: Request, sent: str | None) -> bool:
    expected = csrf_of(request)
    return bool(expected and sent and hmac.compare_digest(expected, sent))
