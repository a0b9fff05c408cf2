"""Who is asking: the one place where a credential becomes a Principal.

Three carriers, one resolution: a bearer token (API clients, staff tokens, device tokens and
partner API keys), a browser session cookie (staff pages), and the same two on a websocket
(`?token=` or the cookie). Every HTTP request and every websocket calls `resolve`, and a live
screen calls it again before each snapshot, so a signed-out or deactivated user is cut off at
once.

Staff tokens and cookies are signed and carry the user's session version: signing out,
changing the password or deactivating the account bumps the version on the server, which ends
every token and cookie issued before (the audit's "a copied cookie keeps working").
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from app.db.models import User
from app.domain.errors import DomainError
from app.domain.events import SESSION_ENDED, Event
from app.services.context import Ctx, Principal

DEVICE_PREFIX = "dev_"
PARTNER_PREFIX = "mpk_"  # app/services/partner_keys.py


class Signer:
    """Signed, expiring credentials naming a user and the session version they belong to."""

    # Signatures already checked, with the moment each expires: an officer's console sends the
    # same token with every request, and checking it (HMAC, base64, JSON) was a twentieth of a
    # call-next's CPU. A signature holds or not by the text alone, so the cache cannot let a
    # forged or altered credential through; expiry is checked on every read, and revocation is
    # the user row's session version, read by every request as before.
    _CACHE_SIZE = 4096

    def __init__(self, secret: str, max_age_seconds: int, salt: str) -> None:
        self._s = URLSafeTimedSerializer(secret, salt=salt)
        self.max_age = max_age_seconds
        self._checked: dict[str, tuple[dict[str, Any], float]] = {}

    def dumps(self, user: User, **extra: Any) -> str:
        return self._s.dumps({"u": user.id, "v": user.session_version, **extra})

    def read(self, raw: str) -> dict[str, Any] | None:
        hit = self._checked.get(raw)
        if hit is not None:
            if time.time() <= hit[1]:
                return dict(hit[0])
            self._checked.pop(raw, None)
        try:
            data, signed = self._s.loads(raw, max_age=self.max_age, return_timestamp=True)
        except (BadSignature, SignatureExpired):
            return None
        if not isinstance(data, dict):
            return None
        if len(self._checked) >= self._CACHE_SIZE:
            self._checked.clear()
        self._checked[raw] = (data, signed.timestamp() + self.max_age)
        return dict(data)


class TokenSigner(Signer):
    def __init__(self, secret: str, max_age_seconds: int) -> None:
        super().__init__(secret, max_age_seconds, "mpp-api-token")

    def issue(self, user: User) -> str:
        return self.dumps(user)


class SessionSigner(Signer):
    def __init__(self, secret: str, max_age_seconds: int) -> None:
        super().__init__(secret, max_age_seconds, "mpp-browser-session")

    def issue(self, user: User) -> tuple[str, str]:
        """The cookie value and the CSRF secret the page's scripts send back."""
        csrf = secrets.token_urlsafe(24)
        return self.dumps(user, c=csrf), csrf


@dataclass(frozen=True)
class Resolved:
    principal: Principal | None
    via: str | None = None  # "bearer" or "cookie"
    csrf: str | None = None  # the cookie session's CSRF secret


def principal_for_user(user: User) -> Principal:
    return Principal(kind="user", id=user.id, role=user.role, name=user.username,
                     agency_id=user.agency_id, site_id=user.site_id)


def principal_of(user_id: int, role: str, username: str, agency_id: int | None,
                 site_id: int | None) -> Principal:
    """The same Principal as principal_for_user, from a user row read by a lean store."""
    return Principal(kind="user", id=user_id, role=role, name=username, agency_id=agency_id,
                     site_id=site_id)


def claimed_user_id(data: dict[str, Any] | None) -> int | None:
    """The user a token's or cookie's (signature-checked) data names."""
    if data is None or not isinstance(data.get("u"), int):
        return None
    return int(data["u"])


def session_stands(data: dict[str, Any], *, is_active: bool, session_version: int | None
                   ) -> bool:
    """The signed-in session is still good: the user is active and has not signed out (or
    changed the password) since the token or cookie was issued."""
    return bool(is_active) and data.get("v") == session_version


def user_of(session: Session, data: dict[str, Any] | None) -> User | None:
    """The signed-in user a token's or cookie's data names, while that session still stands."""
    user_id = claimed_user_id(data)
    if data is None or user_id is None:
        return None
    user = session.get(User, user_id)
    if user is None or not session_stands(data, is_active=user.is_active,
                                          session_version=user.session_version):
        return None
    return user


@dataclass(frozen=True)
class StaffCredential:
    """A staff token or cookie whose signature holds, not yet checked against the user row
    (a lean store reads that row with its other facts and calls session_stands)."""

    user_id: int
    data: dict[str, Any]
    via: str  # "bearer" or "cookie"
    csrf: str | None = None


def staff_credential(*, tokens: TokenSigner, sessions: SessionSigner, bearer: str | None = None,
                     cookie: str | None = None) -> StaffCredential | None:
    """What `resolve` would look up for a staff user, or None when it would resolve something
    else (a device or partner key, no credential) or refuse (a bad signature): a caller then
    lets `resolve` answer."""
    if bearer:
        if bearer.startswith((DEVICE_PREFIX, PARTNER_PREFIX)):
            return None
        data = tokens.read(bearer)
        user_id = claimed_user_id(data)
        return None if data is None or user_id is None else StaffCredential(user_id, data,
                                                                             "bearer")
    if cookie:
        data = sessions.read(cookie)
        user_id = claimed_user_id(data)
        if data is not None and user_id is not None:
            return StaffCredential(user_id, data, "cookie", str(data.get("c", "")))
    return None


def resolve(session: Session, *, tokens: TokenSigner, sessions: SessionSigner,
            bearer: str | None = None, cookie: str | None = None) -> Resolved:
    """A bearer token wins over the cookie; a bearer token that is not valid is refused."""
    if bearer:
        if bearer.startswith(DEVICE_PREFIX):
            from app.services.auth import principal_for_device

            principal = principal_for_device(session, bearer)
        elif bearer.startswith(PARTNER_PREFIX):
            from app.services.partner_keys import principal_for_key

            principal = principal_for_key(session, bearer)
        else:
            user = user_of(session, tokens.read(bearer))
            principal = principal_for_user(user) if user is not None else None
        if principal is None:
            raise DomainError("not_authenticated")
        return Resolved(principal, "bearer")
    if cookie:
        data = sessions.read(cookie)
        user = user_of(session, data)
        if user is not None and data is not None:
            return Resolved(principal_for_user(user), "cookie", str(data.get("c", "")))
    return Resolved(None)


def end_sessions(ctx: Ctx, user: User) -> None:
    """Sign-out, a new password or deactivation: every token and cookie issued so far stops,
    and the user's live screens close (the event goes out after the commit)."""
    user.session_version = (user.session_version or 0) + 1
    ctx.emit(Event(SESSION_ENDED, site_id=user.site_id or 0, data={"user_id": user.id}))
