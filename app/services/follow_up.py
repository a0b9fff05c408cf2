"""The SKM follow-up register (tindak lanjut): for each low unsur, who does what by when.

Managers enter it for the agencies in their scope; the public /skm page and the open-data SKM
file publish it beside the result (PermenPANRB 14/2017: results are published and acted on).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.db.models import Agency, Service
from app.db.models_integration import FollowUp
from app.domain.errors import InvalidValue, NotFound
from app.domain.ikm import UNSUR
from app.services.context import Ctx
from app.services.policy import agency_ids_in_scope, ensure_agency_visible, require_role

STATUSES = ("planned", "in_progress", "done")
STATUS_NAMES_ID = {"planned": "Direncanakan", "in_progress": "Berjalan", "done": "Selesai"}
UNSUR_NAMES = {u.code: u.name_id for u in UNSUR}
FIELDS = ("agency_id", "service_id", "period_from", "period_to", "unsur", "nrr", "action",
          "owner", "due_date", "status", "result_note")


def _check(session: Session, data: dict[str, Any]) -> None:
    if data["unsur"] not in UNSUR_NAMES:
        raise InvalidValue("unsur", "harus U1 sampai U9", "must be U1 to U9")
    if data["status"] not in STATUSES:
        raise InvalidValue("status", "harus planned, in_progress atau done",
                           "must be planned, in_progress or done")
    if data["period_to"] < data["period_from"]:
        raise InvalidValue("period_to", "akhir periode sebelum awalnya",
                           "the period ends before it starts")
    for key in ("action", "owner"):
        if not str(data[key] or "").strip():
            raise InvalidValue(key, "wajib diisi", "is required")
    if data.get("nrr") is not None and not 1 <= float(data["nrr"]) <= 4:
        raise InvalidValue("nrr", "harus 1 sampai 4", "must be within 1..4")
    if data.get("service_id") is not None:
        service = session.get(Service, data["service_id"])
        if service is None:
            raise NotFound("Layanan", "Service")
        if service.agency_id != data["agency_id"]:
            raise InvalidValue("service_id", "layanan bukan milik instansi ini",
                               "the service does not belong to this agency")


def create(ctx: Ctx, data: dict[str, Any]) -> FollowUp:
    """A manager (or admin) records an action for an agency in scope."""
    from app.services.config import audit

    actor = require_role(ctx.actor, "admin", "manager")
    agency = ctx.session.get(Agency, data["agency_id"])
    if agency is None:
        raise NotFound("Instansi", "Agency")
    ensure_agency_visible(ctx.session, actor, agency.id)
    data = {k: data.get(k) for k in FIELDS}
    data["status"] = data["status"] or "planned"
    _check(ctx.session, data)
    item = FollowUp(site_id=agency.site_id, created_at=ctx.now, updated_at=ctx.now,
                    **{k: (v.strip() if isinstance(v, str) else v) for k, v in data.items()})
    ctx.session.add(item)
    ctx.session.flush()
    audit(ctx, "create", "skm_follow_up", item.id, data)
    return item


def _get(ctx: Ctx, item_id: int) -> FollowUp:
    actor = require_role(ctx.actor, "admin", "manager")
    item = ctx.session.get(FollowUp, item_id)
    if item is None or not item.is_active:
        raise NotFound("Tindak lanjut", "Follow-up")
    ensure_agency_visible(ctx.session, actor, item.agency_id)
    return item


def update(ctx: Ctx, item_id: int, changes: dict[str, Any]) -> FollowUp:
    from app.services.config import audit

    item = _get(ctx, item_id)
    data = {k: getattr(item, k) for k in FIELDS}
    data.update({k: v for k, v in changes.items() if k in FIELDS})
    if data["agency_id"] != item.agency_id:
        ensure_agency_visible(ctx.session, ctx.actor, data["agency_id"])  # type: ignore[arg-type]
    _check(ctx.session, data)
    applied = {}
    for k, v in data.items():
        v = v.strip() if isinstance(v, str) else v
        if getattr(item, k) != v:
            setattr(item, k, v)
            applied[k] = v
    if applied:
        item.updated_at = ctx.now
        ctx.session.flush()
        audit(ctx, "update", "skm_follow_up", item.id, applied)
    return item


def delete(ctx: Ctx, item_id: int) -> None:
    from app.services.config import audit

    item = _get(ctx, item_id)
    item.is_active = False
    item.updated_at = ctx.now
    ctx.session.flush()
    audit(ctx, "delete", "skm_follow_up", item.id)


def list_for_staff(ctx: Ctx, *, site_id: int | None = None, agency_id: int | None = None
                   ) -> list[dict[str, Any]]:
    actor = require_role(ctx.actor, "admin", "manager")
    scope = agency_ids_in_scope(ctx.session, actor)
    conds: list[Any] = [FollowUp.is_active.is_(True)]
    if scope is not None:
        conds.append(FollowUp.agency_id.in_(sorted(scope) or [0]))
    if site_id is not None:
        conds.append(FollowUp.site_id == site_id)
    if agency_id is not None:
        conds.append(FollowUp.agency_id == agency_id)
    return _rows(ctx.session, conds, staff=True)


def published_for(session: Session, site_ids: list[int], start: date, end: date
                  ) -> list[dict[str, Any]]:
    """The public register: actions whose SKM period overlaps [start, end]."""
    return _rows(session, [FollowUp.is_active.is_(True), FollowUp.site_id.in_(site_ids),
                           FollowUp.period_from <= end, FollowUp.period_to >= start])


def _rows(session: Session, conds: list[Any], *, staff: bool = False) -> list[dict[str, Any]]:
    stmt = (sa.select(FollowUp, Agency.code, Agency.name, Service.code, Service.name)
            .join(Agency, Agency.id == FollowUp.agency_id)
            .outerjoin(Service, Service.id == FollowUp.service_id)
            .where(*conds)
            .order_by(FollowUp.period_to.desc(), Agency.code, FollowUp.unsur, FollowUp.id))
    out = []
    for item, a_code, a_name, s_code, s_name in session.execute(stmt):
        row = {"agency_code": a_code, "agency_name": a_name, "service_code": s_code,
               "service_name": s_name, "period_from": item.period_from.isoformat(),
               "period_to": item.period_to.isoformat(), "unsur": item.unsur,
               "unsur_name": UNSUR_NAMES.get(item.unsur, item.unsur), "nrr": item.nrr,
               "action": item.action, "owner": item.owner,
               "due_date": item.due_date.isoformat(), "status": item.status,
               "status_name": STATUS_NAMES_ID.get(item.status, item.status),
               "result_note": item.result_note, "updated_at": item.updated_at.isoformat()}
        if staff:
            row = {"id": item.id, "agency_id": item.agency_id, "service_id": item.service_id,
                   **row}
        out.append(row)
    return out


def as_dict(session: Session, item: FollowUp) -> dict[str, Any]:
    rows = _rows(session, [FollowUp.id == item.id], staff=True)
    return rows[0]
