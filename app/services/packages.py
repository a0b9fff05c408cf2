"""Service packages: a named visit ("Pindah datang") whose steps the kiosk fills in one tap."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.db.models import Service, ServicePackage
from app.domain import visits as dv
from app.domain.errors import DomainError, InvalidValue, NotFound
from app.services.config import _config_changed, audit
from app.services.context import Ctx
from app.services.policy import require_role, site_ids_in_scope


def _may_configure(ctx: Ctx, site_id: int) -> None:
    """Admins, and managers of the whole site (a package spans its agencies)."""
    actor = require_role(ctx.actor, "admin", "manager")
    if actor.role == "manager" and (actor.agency_id is not None
                                    or site_id not in (site_ids_in_scope(ctx.session, actor)
                                                       or set())):
        raise DomainError("forbidden")


def check_services(session: Session, site_id: int, service_ids: Sequence[int]) -> None:
    """A package's steps: one to MAX_STEPS services of its site, each once."""
    if not service_ids:
        raise InvalidValue("service_ids", "minimal satu layanan", "at least one service")
    dv.check_new_plan(service_ids)
    found = {s.id: s for s in session.scalars(
        sa.select(Service).where(Service.id.in_(service_ids)))}
    for sid in service_ids:
        if sid not in found or found[sid].site_id != site_id:
            raise NotFound("Layanan", "Service")


def list_packages(session: Session, site_id: int, *, active_only: bool = True
                  ) -> list[ServicePackage]:
    stmt = sa.select(ServicePackage).where(ServicePackage.site_id == site_id)
    if active_only:
        stmt = stmt.where(ServicePackage.is_active.is_(True))
    return list(session.scalars(stmt.order_by(ServicePackage.name, ServicePackage.id)))


def get_package(session: Session, package_id: int) -> ServicePackage:
    pkg = session.get(ServicePackage, package_id)
    if pkg is None:
        raise NotFound("Paket layanan", "Service package")
    return pkg


def _unique_code(session: Session, site_id: int, code: str, exclude: int | None = None) -> None:
    stmt = sa.select(ServicePackage.id).where(ServicePackage.site_id == site_id,
                                              ServicePackage.code == code)
    found = session.scalar(stmt)
    if found is not None and found != exclude:
        raise DomainError("code_taken", code=code)


def create_package(ctx: Ctx, data: dict[str, Any]) -> ServicePackage:
    _may_configure(ctx, data["site_id"])
    check_services(ctx.session, data["site_id"], data["service_ids"])
    _unique_code(ctx.session, data["site_id"], data["code"])
    pkg = ServicePackage(**data)
    ctx.session.add(pkg)
    ctx.session.flush()
    audit(ctx, "create", "service_package", pkg.id, data)
    _config_changed(ctx, pkg.site_id, "service_package", pkg.id)
    return pkg


def update_package(ctx: Ctx, package_id: int, data: dict[str, Any]) -> ServicePackage:
    require_role(ctx.actor, "admin", "manager")  # before the lookup: no probing by strangers
    pkg = get_package(ctx.session, package_id)
    _may_configure(ctx, pkg.site_id)
    if "service_ids" in data:
        check_services(ctx.session, pkg.site_id, data["service_ids"])
    if "code" in data:
        _unique_code(ctx.session, pkg.site_id, data["code"], pkg.id)
    changes = {}
    for key, value in data.items():
        if getattr(pkg, key) != value:
            changes[key] = value
            setattr(pkg, key, value)
    if changes:
        audit(ctx, "update", "service_package", pkg.id, changes)
        _config_changed(ctx, pkg.site_id, "service_package", pkg.id)
    return pkg


def delete_package(ctx: Ctx, package_id: int) -> ServicePackage:
    """Packages that visits refer to stay in the history: deleting deactivates."""
    return update_package(ctx, package_id, {"is_active": False})


def public_package(pkg: ServicePackage, services: dict[int, Any]) -> dict[str, Any]:
    """A package as the kiosk shows it; only packages whose every service is listed."""
    return {"id": pkg.id, "code": pkg.code, "name": pkg.name, "description": pkg.description,
            "service_ids": [i for i in pkg.service_ids if i in services]}
