"""Service packages (admin and managers of a whole site): named visits of several services."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import CtxDep
from app.api.routes_config import _changes
from app.api.schemas import Id, PackageCreate, PackageRead, PackageUpdate
from app.db.models import ServicePackage
from app.services import packages
from app.services.policy import require_role

router = APIRouter(prefix="/api/v1", tags=["configuration"])


@router.get("/packages", response_model=list[PackageRead])
def list_packages(ctx: CtxDep, site_id: Id, include_inactive: bool = False) -> object:
    require_role(ctx.actor, "admin", "manager", "officer")
    return packages.list_packages(ctx.session, site_id, active_only=not include_inactive)


@router.post("/packages", response_model=PackageRead, status_code=201)
def create_package(body: PackageCreate, ctx: CtxDep) -> object:
    return packages.create_package(ctx, body.model_dump())


@router.get("/packages/{package_id}", response_model=PackageRead)
def get_package(package_id: Id, ctx: CtxDep) -> object:
    require_role(ctx.actor, "admin", "manager", "officer")
    return packages.get_package(ctx.session, package_id)


@router.patch("/packages/{package_id}", response_model=PackageRead)
def update_package(package_id: Id, body: PackageUpdate, ctx: CtxDep) -> object:
    return packages.update_package(ctx, package_id, _changes(body, ServicePackage))


@router.delete("/packages/{package_id}", response_model=PackageRead)
def delete_package(package_id: Id, ctx: CtxDep) -> object:
    return packages.delete_package(ctx, package_id)
