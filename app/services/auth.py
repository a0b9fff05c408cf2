"""Sign-in, bearer tokens and device tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.db.models import Device, Site, User
from app.domain.errors import DomainError
from app.services import passwords, principal, throttle
from app.services.context import Ctx, Principal
from app.services.policy import STAFF_ROLES, require_role
from app.services.principal import (  # noqa: F401 - the names callers know
    DEVICE_PREFIX,
    SessionSigner,
    TokenSigner,
    principal_for_user,
)


def principal_from_token(session: Session, signer: TokenSigner, token: str) -> Principal | None:
    """A bearer token's principal, or None (see app.services.principal.resolve)."""
    try:
        return principal.resolve(session, tokens=signer, sessions=_NO_SESSIONS,
                                 bearer=token).principal
    except DomainError:
        return None


_NO_SESSIONS = SessionSigner("-", 0)


def authenticate(ctx: Ctx, username: str, password: str, *, max_failures: int,
                 lock_seconds: int, address_max_failures: int = 20) -> User:
    """Check a password, throttled per (username, client address) and per address.

    Failures count per username as typed together with the client's address, and per address
    alone, over windows of `lock_seconds`: a stranger guessing from elsewhere never locks the
    officer out of their own counter, and one address cannot try many accounts. Unknown and
    known usernames go through the same steps and answer the same (no username oracle).
    """
    session = ctx.session
    address = ctx.ip or "unknown"
    pair = f"login:pair:{throttle.pseudonym(username.strip().lower())}:{address}"
    alone = f"login:addr:{address}"
    for bucket, limit in ((pair, max_failures), (alone, address_max_failures)):
        count, remaining = throttle.hits(session, bucket, seconds=lock_seconds, now=ctx.now)
        if limit > 0 and count >= limit:
            raise DomainError("account_locked", seconds=remaining)
    user = session.scalar(sa.select(User).where(User.username == username))
    if user is None or not user.is_active:
        passwords.dummy_verify(password)
        valid = False
    else:
        valid = passwords.verify_password(password, user.password_hash)
    if not valid:
        for bucket in (pair, alone):
            throttle.bump(session, bucket, limit=2**31, seconds=lock_seconds, now=ctx.now)
        if user is not None:
            _audit_as(ctx, user, "login_failed")
        # The failure count must persist although the request fails.
        ctx.keep_writes_on_refusal = True
        raise DomainError("invalid_credentials")
    assert user is not None
    throttle.clear(session, pair)
    user.failed_logins = 0
    user.locked_until = None
    _audit_as(ctx, user, "login")
    return user


def sign_out(ctx: Ctx, actor: Principal | None, *, required: bool = False) -> None:
    """End every session of the signed-in user (all their tokens and cookies). The API asks
    for a signed-in staff member (`required`); the sign-out page accepts anyone."""
    if required:
        actor = require_role(actor, *STAFF_ROLES)
    if actor is None or actor.user_id is None:
        return
    user = ctx.session.get(User, actor.user_id)
    if user is not None:
        principal.end_sessions(ctx, user)
        _audit_as(ctx, user, "logout")


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


# A device of a switched-off site stops with it (its kiosks issue nothing, its boards go dark).
DEVICE_BY_TOKEN = sa.select(
    Device.id, Device.kind, Device.name, Device.site_id, Device.counter_id,
    sa.and_(Device.is_active, sa.func.coalesce(Site.is_active, True)).label("is_active"),
).outerjoin(Site, Site.id == Device.site_id).where(Device.token_hash == sa.bindparam("token_hash"))


def principal_for_device(session: Session, token: str, now: datetime | None = None
                         ) -> Principal | None:
    # A plain row, not an ORM object: every kiosk request passes here.
    row = session.connection().execute(
        DEVICE_BY_TOKEN, {"token_hash": token_hash(token)}).first()
    if row is None or not row.is_active:
        return None
    return Principal(kind="device", id=row.id, role=row.kind, name=row.name,
                     site_id=row.site_id, counter_id=row.counter_id)
