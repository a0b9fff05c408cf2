"""Sign-in, bearer tokens and device tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from app.db.models import Device, User
from app.domain.errors import DomainError
from app.services import passwords
from app.services.context import Ctx, Principal

DEVICE_PREFIX = "dev_"


class TokenSigner:
    def __init__(self, secret: str, max_age_seconds: int) -> None:
        self._s = URLSafeTimedSerializer(secret, salt="mpp-api-token")
        self.max_age = max_age_seconds

    def issue(self, user: User) -> str:
        # The hash tail invalidates tokens when the password changes.
        return self._s.dumps({"u": user.id, "p": user.password_hash[-12:]})

    def read(self, token: str) -> dict[str, object] | None:
        try:
            data = self._s.loads(token, max_age=self.max_age)
        except (BadSignature, SignatureExpired):
            return None
        return data if isinstance(data, dict) else None


def principal_for_user(user: User) -> Principal:
    return Principal(kind="user", id=user.id, role=user.role, name=user.username,
                     agency_id=user.agency_id, site_id=user.site_id)


def principal_from_token(session: Session, signer: TokenSigner, token: str) -> Principal | None:
    if token.startswith(DEVICE_PREFIX):
        return principal_for_device(session, token)
    data = signer.read(token)
    if data is None:
        return None
    user = session.get(User, data.get("u"))
    if user is None or not user.is_active or user.password_hash[-12:] != data.get("p"):
        return None
    return principal_for_user(user)


def authenticate(ctx: Ctx, username: str, password: str, *, max_failures: int,
                 lock_seconds: int) -> User:
    """Check a password; repeated failures lock the account for a growing time."""

    session = ctx.session
    user = session.scalar(sa.select(User).where(User.username == username))
    if user is None or not user.is_active:
        passwords.dummy_verify(password)
        raise DomainError("invalid_credentials")
    if user.locked_until is not None and user.locked_until > ctx.now:
        seconds = int((user.locked_until - ctx.now).total_seconds()) + 1
        raise DomainError("account_locked", seconds=seconds)
    if not passwords.verify_password(password, user.password_hash):
        user.failed_logins += 1
        if user.failed_logins >= max_failures:
            extra = user.failed_logins - max_failures
            user.locked_until = ctx.now + timedelta(seconds=lock_seconds * (2 ** min(extra, 6)))
        _audit_as(ctx, user, "login_failed")
        # The failure count must persist although the request fails.
        session.commit()
        raise DomainError("invalid_credentials")
    user.failed_logins = 0
    user.locked_until = None
    _audit_as(ctx, user, "login")
    return user


def _audit_as(ctx: Ctx, user: User, action: str) -> None:
    """Sign-ins are audited under the account they concern (nobody is signed in yet)."""
    from app.services.config import audit

    actor, ctx.actor = ctx.actor, principal_for_user(user)
    try:
        audit(ctx, action, "user", user.id)
    finally:
        ctx.actor = actor


# --- devices --------------------------------------------------------------------------------


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_device_token() -> tuple[str, str]:
    token = DEVICE_PREFIX + secrets.token_urlsafe(24)
    return token, token_hash(token)


DEVICE_BY_TOKEN = sa.select(
    Device.id, Device.kind, Device.name, Device.site_id, Device.is_active
).where(Device.token_hash == sa.bindparam("token_hash"))


def principal_for_device(session: Session, token: str, now: datetime | None = None
                         ) -> Principal | None:
    # A plain row, not an ORM object: every kiosk request passes here.
    row = session.connection().execute(
        DEVICE_BY_TOKEN, {"token_hash": token_hash(token)}).first()
    if row is None or not row.is_active:
        return None
    return Principal(kind="device", id=row.id, role=row.kind, name=row.name,
                     site_id=row.site_id)
