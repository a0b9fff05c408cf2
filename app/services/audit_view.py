"""Reading the audit log: every configuration change and sign-in, filterable (admins only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app.db.models import AuditLog, User
from app.services.context import Ctx
from app.services.policy import require_role

MAX_LIMIT = 500


SIGN_IN_ACTIONS = ("login", "login_failed")


@dataclass
class AuditPage:
    items: list[dict[str, Any]]
    total: int


def _bound(value: date | datetime, tz: ZoneInfo, *, end: bool) -> datetime:
    """A date means the whole local day: `from` its start, `to` the end of it."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    start = datetime.combine(value, time.min, tzinfo=tz)
    return start + timedelta(days=1) if end else start


def search(ctx: Ctx, *, user: str | None = None, entity: str | None = None,
           action: str | None = None, entity_id: int | None = None,
           start: date | datetime | None = None, end: date | datetime | None = None,
           tz: str = "Asia/Jakarta", limit: int = 100, offset: int = 0) -> AuditPage:
    """Newest first. `user` matches the username exactly or as a prefix."""
    require_role(ctx.actor, "admin")
    zone = ZoneInfo(tz)
    conds: list[sa.ColumnElement[bool]] = []
    if user:
        pattern = user.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        # A sign-in is written before anyone is signed in: its user is the row's subject.
        subject = sa.select(User.id).where(User.username.like(pattern, escape="\\"))
        conds.append(sa.or_(
            AuditLog.username.like(pattern, escape="\\"),
            sa.and_(AuditLog.username.is_(None), AuditLog.entity == "user",
                    AuditLog.action.in_(SIGN_IN_ACTIONS), AuditLog.entity_id.in_(subject)),
        ))
    if entity:
        conds.append(AuditLog.entity == entity)
    if action:
        conds.append(AuditLog.action == action)
    if entity_id is not None:
        conds.append(AuditLog.entity_id == entity_id)
    if start is not None:
        conds.append(AuditLog.at >= _bound(start, zone, end=False))
    if end is not None:
        # A datetime `to` is inclusive; a date covers its whole day.
        bound = _bound(end, zone, end=True)
        conds.append(AuditLog.at <= bound if isinstance(end, datetime) else AuditLog.at < bound)
    total = ctx.session.scalar(sa.select(sa.func.count()).select_from(AuditLog).where(*conds))
    rows = ctx.session.scalars(
        sa.select(AuditLog).where(*conds).order_by(AuditLog.at.desc(), AuditLog.id.desc())
        .limit(max(1, min(limit, MAX_LIMIT))).offset(max(0, offset)))
    items = [_row(r) for r in rows]
    missing = {i["entity_id"] for i in items if i["username"] is None
               and i["entity"] == "user" and i["action"] in SIGN_IN_ACTIONS}
    if missing:
        names = {uid: name for uid, name in ctx.session.execute(
            sa.select(User.id, User.username).where(User.id.in_(missing)))}
        for i in items:
            if i["username"] is None and i["action"] in SIGN_IN_ACTIONS:
                i["username"] = names.get(i["entity_id"])
    return AuditPage(items=items, total=int(total or 0))


def _row(r: AuditLog) -> dict[str, Any]:
    return {"id": r.id, "at": r.at, "user_id": r.user_id, "username": r.username,
            "action": r.action, "entity": r.entity, "entity_id": r.entity_id,
            "changes": r.changes, "ip": r.ip}


def facets(ctx: Ctx) -> dict[str, list[str]]:
    """The entity and action words present, for the filter drop-downs."""
    require_role(ctx.actor, "admin")
    entities = ctx.session.scalars(sa.select(AuditLog.entity).distinct().order_by(AuditLog.entity))
    actions = ctx.session.scalars(sa.select(AuditLog.action).distinct().order_by(AuditLog.action))
    return {"entities": list(entities), "actions": list(actions)}
