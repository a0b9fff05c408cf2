"""Partner API keys: scoped credentials for other systems (an agency's app that issues tickets
for its own services, a city dashboard reading statistics).

A key is `mpk_` + 32 random bytes, shown once; only its SHA-256 is kept (like device tokens: a
random 256-bit secret needs no slow hash). Per site, with scopes (app.domain.partner_scopes),
revocable, rate limited per key, and every use audited with its last use shown in admin. The
key resolves to a Principal of kind "partner" in app.services.principal; what it may do is
decided in the policy module like every other check.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.db.models import AuditLog, Service, Site
from app.db.models_integration import PartnerKey
from app.domain.errors import DomainError, InvalidValue, NotFound
from app.services.context import Ctx, Principal
from app.services.policy import require_role

PREFIX = "mpk_"
SCOPES = ("read:stats", "issue:tickets")


def key_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _require_admin(ctx: Ctx) -> None:
    require_role(ctx.actor, "admin")


def create(ctx: Ctx, *, site_id: int, name: str, scopes: list[str],
           service_ids: list[int] | None, rate_per_minute: int) -> tuple[PartnerKey, str]:
    """A new key; the token is returned this once and never stored."""
    from app.services.config import audit

    _require_admin(ctx)
    if ctx.session.get(Site, site_id) is None:
        raise NotFound("Lokasi", "Site")
    clean = sorted(set(scopes))
    if not clean or any(s not in SCOPES for s in clean):
        raise InvalidValue("scopes", f"pilih dari {', '.join(SCOPES)}",
                           f"choose from {', '.join(SCOPES)}")
    ids = sorted(set(service_ids or []))
    if "issue:tickets" in clean and not ids:
        raise InvalidValue("service_ids", "issue:tickets perlu daftar layanan",
                           "issue:tickets needs the services it may issue for")
    for sid in ids:
        service = ctx.session.get(Service, sid)
        if service is None or service.site_id != site_id:
            raise InvalidValue("service_ids", f"layanan {sid} bukan di lokasi ini",
                               f"service {sid} is not at this site")
    token = PREFIX + secrets.token_urlsafe(32)
    row = PartnerKey(site_id=site_id, name=name.strip(), key_prefix=token[:10],
                     key_hash=key_hash(token), scopes=clean, service_ids=ids or None,
                     rate_per_minute=rate_per_minute, created_at=ctx.now,
                     created_by=ctx.actor.user_id if ctx.actor else None)
    ctx.session.add(row)
    ctx.session.flush()
    audit(ctx, "create", "partner_key", row.id, {"name": row.name, "scopes": clean,
                                                 "service_ids": ids, "site_id": site_id,
                                                 "rate_per_minute": rate_per_minute})
    return row, token


def revoke(ctx: Ctx, key_id: int) -> PartnerKey:
    from app.services.config import audit

    _require_admin(ctx)
    row = ctx.session.get(PartnerKey, key_id)
    if row is None:
        raise NotFound("Kunci API", "API key")
    if row.is_active:
        row.is_active = False
        row.revoked_at = ctx.now
        ctx.session.flush()
        audit(ctx, "revoke", "partner_key", row.id)
    return row


def list_keys(ctx: Ctx, site_id: int | None = None) -> list[PartnerKey]:
    _require_admin(ctx)
    stmt = sa.select(PartnerKey).order_by(PartnerKey.id)
    if site_id is not None:
        stmt = stmt.where(PartnerKey.site_id == site_id)
    return list(ctx.session.scalars(stmt))


def key_out(row: PartnerKey, used_this_minute: int | None = None) -> dict[str, Any]:
    iso = (lambda v: v.isoformat() if v else None)  # noqa: E731
    return {"id": row.id, "site_id": row.site_id, "name": row.name,
            "key_prefix": row.key_prefix, "scopes": row.scopes,
            "service_ids": row.service_ids or [], "rate_per_minute": row.rate_per_minute,
            "used_this_minute": used_this_minute, "is_active": row.is_active,
            "created_at": iso(row.created_at), "revoked_at": iso(row.revoked_at),
            "last_used_at": iso(row.last_used_at), "last_used_ip": row.last_used_ip,
            "use_count": row.use_count}


_BY_HASH = sa.select(PartnerKey.id, PartnerKey.name, PartnerKey.site_id, PartnerKey.scopes,
                     PartnerKey.service_ids, PartnerKey.is_active,
                     PartnerKey.rate_per_minute).where(
    PartnerKey.key_hash == sa.bindparam("key_hash"))


def find(session: Session, token: str) -> Any:
    """The active key's row for a token, or None."""
    row = session.connection().execute(_BY_HASH, {"key_hash": key_hash(token)}).first()
    return row if row is not None and row.is_active else None


def principal_for_key(session: Session, token: str) -> Principal | None:
    row = find(session, token)
    if row is None:
        return None
    return Principal(kind="partner", id=row.id, role="partner", name=row.name,
                     site_id=row.site_id, scopes=tuple(row.scopes or ()),
                     service_ids=tuple(row.service_ids or ()))


def record_use(session: Session, row: Any, *, now: datetime, ip: str | None, method: str,
               path: str) -> None:
    """Every use: last use and count on the key, one audit row (who, what, from where)."""
    session.execute(sa.update(PartnerKey).where(PartnerKey.id == row.id).values(
        last_used_at=now, last_used_ip=ip, use_count=PartnerKey.use_count + 1))
    session.add(AuditLog(at=now, username=f"partner:{row.name}"[:64], action="api_use",
                         entity="partner_key", entity_id=row.id,
                         changes={"method": method, "path": path[:200]}, ip=ip))


def admit(session: Session, token: str, *, now: datetime, ip: str | None, method: str,
          path: str) -> None:
    """One request with a key: audited and counted (even when refused), then rate limited."""
    from app.services import throttle

    row = find(session, token)
    if row is None:
        raise DomainError("not_authenticated")
    record_use(session, row, now=now, ip=ip, method=method, path=path)
    throttle.bump(session, bucket(row.id), limit=row.rate_per_minute, seconds=60, now=now)


def bucket(key_id: int) -> str:
    return f"partner:{key_id}"


def used_this_minute(session: Session, key_id: int, now: datetime) -> int:
    from app.services import throttle

    return throttle.hits(session, bucket(key_id), seconds=60, now=now)[0]
