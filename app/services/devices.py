"""Kiosk, display and survey-tablet devices: issue a token once, list, revoke. Every change is
audited. A survey tablet is bound to one counter: it offers that counter's SKM survey and its
answers are marked `source="tablet"` (staff sessions cannot submit surveys)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa

from app.db.models import Counter, Device, DisplayBoard, Site
from app.domain import events as ev
from app.domain.errors import DomainError, InvalidValue, NotFound
from app.domain.events import Event
from app.services import auth
from app.services.config import audit
from app.services.context import Ctx, Principal
from app.services.policy import require_role

KINDS = ("kiosk", "display", "tablet")


@dataclass
class Issued:
    """A new device and its token: the token exists in clear text only in this answer."""

    device: Device
    token: str
    url: str


def _ensure_manage_site(ctx: Ctx, site_id: int) -> Principal:
    """Admins everywhere; managers only for the whole site they manage (not one agency)."""
    actor = require_role(ctx.actor, "admin", "manager")
    if actor.role == "manager" and (actor.agency_id is not None or actor.site_id != site_id):
        raise DomainError("forbidden")
    return actor


def device_path(device: Device, token: str) -> str:
    """The path to open on the device; the token signs the screen in."""
    if device.kind == "kiosk":
        # The kiosk page learns its site from the token (and then drops it from the URL).
        return "/kiosk?" + urlencode({"token": token})
    if device.kind == "tablet":
        # The tablet page keeps the token in localStorage and drops it from the URL.
        return "/survey?" + urlencode({"token": token})
    params: dict[str, Any] = {"board": device.board_id} if device.board_id else {
        "site_id": device.site_id}
    return "/display?" + urlencode({**params, "token": token})


def list_devices(ctx: Ctx, site_id: int | None = None) -> list[Device]:
    actor = require_role(ctx.actor, "admin", "manager")
    stmt = sa.select(Device).order_by(Device.site_id, Device.kind, Device.name, Device.id)
    if actor.role == "manager":
        if actor.agency_id is not None or actor.site_id is None:
            raise DomainError("forbidden")
        stmt = stmt.where(Device.site_id == actor.site_id)
    if site_id is not None:
        stmt = stmt.where(Device.site_id == site_id)
    return list(ctx.session.scalars(stmt))


def _board_for(ctx: Ctx, board_id: int | None, site_id: int) -> int | None:
    if board_id is None:
        return None
    board = ctx.session.get(DisplayBoard, board_id)
    if board is None:
        raise NotFound("Papan display", "Display board")
    if board.site_id != site_id:
        raise InvalidValue("board_id", "papan display harus di lokasi yang sama",
                           "the display board must be at the same site")
    return board.id


def _counter_for(ctx: Ctx, kind: str, counter_id: int | None, site_id: int) -> int | None:
    """A survey tablet names its counter (at the device's site); other kinds name none."""
    if kind != "tablet":
        if counter_id is not None:
            raise InvalidValue("counter_id", "hanya tablet survei yang terikat ke loket",
                               "only a survey tablet is bound to a counter")
        return None
    if counter_id is None:
        raise InvalidValue("counter_id", "pilih loket untuk tablet survei",
                           "choose the counter of the survey tablet")
    counter = ctx.session.get(Counter, counter_id)
    if counter is None:
        raise NotFound("Loket", "Counter")
    if counter.agency.site_id != site_id:
        raise InvalidValue("counter_id", "loket harus di lokasi yang sama",
                           "the counter must be at the same site")
    return counter.id


def issue_device(ctx: Ctx, data: dict[str, Any]) -> Issued:
    site = ctx.session.get(Site, data["site_id"])
    if site is None:
        raise NotFound("Lokasi", "Site")
    _ensure_manage_site(ctx, site.id)
    kind = data["kind"]
    if kind not in KINDS:
        raise InvalidValue("kind", "jenis perangkat harus kiosk, display atau tablet",
                           "the device kind must be kiosk, display or tablet")
    name = (data.get("name") or "").strip()
    if not name:
        raise InvalidValue("name", "nama perangkat wajib diisi", "the device name is required")
    board_id = data.get("board_id")
    if kind == "kiosk" and board_id is not None:
        raise InvalidValue("board_id", "kiosk tidak memakai papan display",
                           "a kiosk has no display board")
    if kind != "display" and board_id is not None:
        raise InvalidValue("board_id", "hanya display yang memakai papan display",
                           "only a display has a display board")
    counter_id = _counter_for(ctx, kind, data.get("counter_id"), site.id)
    token, token_hash = auth.new_device_token()
    device = Device(site_id=site.id, kind=kind, name=name, token_hash=token_hash,
                    board_id=_board_for(ctx, board_id, site.id), counter_id=counter_id,
                    created_at=ctx.now)
    ctx.session.add(device)
    ctx.session.flush()
    audit(ctx, "create", "device", device.id,
          {"site_id": site.id, "kind": kind, "name": name, "board_id": device.board_id,
           "counter_id": device.counter_id})
    return Issued(device=device, token=token, url=device_path(device, token))


def get_device(ctx: Ctx, device_id: int) -> Device:
    device = ctx.session.get(Device, device_id)
    if device is None:
        raise NotFound("Perangkat", "Device")
    _ensure_manage_site(ctx, device.site_id)
    return device


def revoke_device(ctx: Ctx, device_id: int) -> Device:
    """The token stops working at the device's next request; the row stays for history."""
    device = get_device(ctx, device_id)
    if device.is_active:
        device.is_active = False
        audit(ctx, "revoke", "device", device.id, {"name": device.name})
        # Connected boards re-check their token on the fresh snapshot this triggers.
        ctx.emit(Event(ev.CONFIG_CHANGED, device.site_id, {"entity": "device", "id": device.id}))
    return device


def kiosk_identity(ctx: Any) -> dict[str, Any]:
    """Who a kiosk is, from its own credential: its name and its site's code."""
    from app.services import catalog
    from app.services.policy import require_role

    actor = require_role(ctx.actor, "kiosk")
    site = catalog.resolve_site(ctx.session, actor.site_id) if actor.site_id else None
    return {"name": actor.name, "site_code": site.code if site else None}
