"""Browser sessions for staff: a signed, HttpOnly, SameSite cookie carrying a CSRF secret."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from fastapi import Request, Response
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app.db.models import User

SESSION_COOKIE = "mpp_session"
LOGIN_CSRF_COOKIE = "mpp_login_csrf"


class SessionSigner:
    def __init__(self, secret: str, max_age_seconds: int) -> None:
        self._s = URLSafeTimedSerializer(secret, salt="mpp-browser-session")
        self.max_age = max_age_seconds

    def issue(self, user: User) -> tuple[str, str]:
        csrf = secrets.token_urlsafe(24)
        return self._s.dumps({"u": user.id, "p": user.password_hash[-12:], "c": csrf}), csrf

    def read(self, raw: str) -> dict[str, Any] | None:
        try:
            data = self._s.loads(raw, max_age=self.max_age)
        except (BadSignature, SignatureExpired):
            return None
        return data if isinstance(data, dict) else None


def set_session(request: Request, response: Response, user: User) -> str:
    state = request.app.state
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
    data = request.app.state.session_signer.read(raw)
    return str(data["c"]) if data and "c" in data else None


def check_form_csrf(request: Request, sent: str | None) -> bool:
    expected = csrf_of(request)
    return bool(expected and sent and hmac.compare_digest(expected, sent))
