"""Display boards: which part of the mall a screen shows and how. Every change is audited."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.db.models import Agency, DisplayBoard, Site
from app.domain import events as ev
from app.domain.errors import DomainError, InvalidValue, NotFound
from app.domain.events import Event
from app.services.config import audit
from app.services.context import Ctx, Principal
from app.services.policy import require_role, site_ids_in_scope

LAYOUTS = ("landscape", "portrait")


def _changed(ctx: Ctx, board: DisplayBoard) -> None:
    # Screens showing this board re-read their configuration on the next snapshot.
    ctx.emit(Event(ev.CONFIG_CHANGED, board.site_id, {"entity": "board", "id": board.id}))


def _ensure_manage(ctx: Ctx, site_id: int) -> Principal:
    """Admins everywhere; managers of the whole site (a manager of one agency only reads)."""
    actor = require_role(ctx.actor, "admin", "manager")
    if actor.role == "manager" and (actor.agency_id is not None
                                    or actor.site_id not in (None, site_id)):
        raise DomainError("forbidden")
    return actor


def _visible(ctx: Ctx, board: DisplayBoard) -> bool:
    scope = site_ids_in_scope(ctx.session, ctx.actor) if ctx.actor else set()
    return scope is None or board.site_id in scope


def list_boards(ctx: Ctx, site_id: int | None = None, include_inactive: bool = False
                ) -> list[DisplayBoard]:
    actor = require_role(ctx.actor, "admin", "manager")
    stmt = sa.select(DisplayBoard).order_by(DisplayBoard.site_id, DisplayBoard.id)
    if site_id is not None:
        stmt = stmt.where(DisplayBoard.site_id == site_id)
    if not include_inactive:
        stmt = stmt.where(DisplayBoard.is_active.is_(True))
    scope = site_ids_in_scope(ctx.session, actor)
    if scope is not None:
        stmt = stmt.where(DisplayBoard.site_id.in_(scope))
    return list(ctx.session.scalars(stmt))


def get_board(ctx: Ctx, board_id: int) -> DisplayBoard:
    require_role(ctx.actor, "admin", "manager")
    board = ctx.session.get(DisplayBoard, board_id)
    if board is None or not _visible(ctx, board):
        raise NotFound("Papan", "Board")
    return board


def _check(ctx: Ctx, data: dict[str, Any], site_id: int) -> None:
    if data.get("layout") is not None and data["layout"] not in LAYOUTS:
        raise InvalidValue("layout", "harus landscape atau portrait",
                           "must be landscape or portrait")
    ids = data.get("agency_ids")
    if ids:
        found = set(ctx.session.scalars(sa.select(Agency.id).where(
            Agency.id.in_(ids), Agency.site_id == site_id)))
        if found != set(ids):
            raise InvalidValue("agency_ids", "instansi tidak ditemukan di lokasi ini",
                               "unknown agency at this site")
        data["agency_ids"] = sorted(set(ids))
    elif "agency_ids" in data:
        data["agency_ids"] = None  # an empty list means every agency, as no list does
    for key in ("zone", "running_text"):
        if key in data and isinstance(data[key], str) and not data[key].strip():
            data[key] = None


def create_board(ctx: Ctx, data: dict[str, Any]) -> DisplayBoard:
    site = ctx.session.get(Site, data["site_id"])
    if site is None:
        raise NotFound("Lokasi", "Site")
    _ensure_manage(ctx, site.id)
    _check(ctx, data, site.id)
    board = DisplayBoard(**data)
    ctx.session.add(board)
    ctx.session.flush()
    audit(ctx, "create", "board", board.id, data)
    _changed(ctx, board)
    return board


def update_board(ctx: Ctx, board_id: int, data: dict[str, Any]) -> DisplayBoard:
    board = get_board(ctx, board_id)
    _ensure_manage(ctx, board.site_id)
    data.pop("site_id", None)  # a board stays at its site; make a new one elsewhere
    _check(ctx, data, board.site_id)
    changes: dict[str, Any] = {}
    for key, value in data.items():
        if getattr(board, key) != value:
            changes[key] = value
            setattr(board, key, value)
    if changes:
        audit(ctx, "update", "board", board.id, changes)
        _changed(ctx, board)
    return board


def delete_board(ctx: Ctx, board_id: int) -> None:
    """Deactivate: devices may still point at it, and the audit log keeps its history."""
    board = get_board(ctx, board_id)
    _ensure_manage(ctx, board.site_id)
    if board.is_active:
        board.is_active = False
        audit(ctx, "deactivate", "board", board.id)
        _changed(ctx, board)
