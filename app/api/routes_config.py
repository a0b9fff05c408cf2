"""Configuration resources: sites, agencies, services, counters, users (API.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from app.api.deps import CtxDep
from app.api.schemas import (
    AgencyCreate,
    AgencyRead,
    AgencyUpdate,
    CounterCreate,
    CounterRead,
    CounterUpdate,
    Id,
    ServiceCreate,
    ServiceRead,
    ServiceUpdate,
    SiteCreate,
    SiteRead,
    SiteUpdate,
    UserCreate,
    UserRead,
    UserUpdate,
)
from app.db.models import Agency, Counter, Service, Site, User
from app.domain.errors import InvalidValue
from app.services import config

router = APIRouter(prefix="/api/v1", tags=["configuration"])


def _changes(body: BaseModel, model: type) -> dict[str, Any]:
    """The fields a PATCH sent; an explicit null only where the column may be empty."""
    data = body.model_dump(exclude_unset=True)
    columns = model.__table__.c  # type: ignore[attr-defined]
    for key, value in data.items():
        if value is None and not (key in columns and columns[key].nullable):
            raise InvalidValue(key, "tidak boleh kosong (null)", "cannot be null")
    return data


# sites
@router.get("/sites", response_model=list[SiteRead])
def list_sites(ctx: CtxDep) -> object:
    return config.list_sites(ctx)


@router.post("/sites", response_model=SiteRead, status_code=201)
def create_site(body: SiteCreate, ctx: CtxDep) -> object:
    """A new site; with prefill_holidays (the default) it starts with this year's and next
    year's national holidays and cuti bersama (editable under special days)."""
    data = body.model_dump()
    prefill = data.pop("prefill_holidays")
    site = config.create_site(ctx, data)
    if prefill:
        from app.services.special_days import prefill_new_site

        prefill_new_site(ctx, site)
    return site


@router.get("/sites/{site_id}", response_model=SiteRead)
def get_site(site_id: Id, ctx: CtxDep) -> object:
    return config.get_site(ctx, site_id)


@router.patch("/sites/{site_id}", response_model=SiteRead)
def update_site(site_id: Id, body: SiteUpdate, ctx: CtxDep) -> object:
    return config.update_site(ctx, site_id, _changes(body, Site))


# agencies
@router.get("/agencies", response_model=list[AgencyRead])
def list_agencies(ctx: CtxDep, site_id: Id | None = None, include_inactive: bool = False
                  ) -> object:
    return config.list_agencies(ctx, site_id, include_inactive)


@router.post("/agencies", response_model=AgencyRead, status_code=201)
def create_agency(body: AgencyCreate, ctx: CtxDep) -> object:
    return config.create_agency(ctx, body.model_dump())


@router.get("/agencies/{agency_id}", response_model=AgencyRead)
def get_agency(agency_id: Id, ctx: CtxDep) -> object:
    return config.get_agency(ctx, agency_id)


@router.patch("/agencies/{agency_id}", response_model=AgencyRead)
def update_agency(agency_id: Id, body: AgencyUpdate, ctx: CtxDep) -> object:
    return config.update_agency(ctx, agency_id, _changes(body, Agency))


@router.delete("/agencies/{agency_id}", status_code=204)
def delete_agency(agency_id: Id, ctx: CtxDep) -> Response:
    config.delete_agency(ctx, agency_id)
    return Response(status_code=204)


# services
@router.get("/services", response_model=list[ServiceRead])
def list_services(ctx: CtxDep, agency_id: Id | None = None, site_id: Id | None = None,
                  include_inactive: bool = False) -> object:
    return config.list_services(ctx, agency_id, site_id, include_inactive)


@router.post("/services", response_model=ServiceRead, status_code=201)
def create_service(body: ServiceCreate, ctx: CtxDep) -> object:
    return config.create_service(ctx, body.model_dump())


@router.get("/services/{service_id}", response_model=ServiceRead)
def get_service(service_id: Id, ctx: CtxDep) -> object:
    return config.get_service(ctx, service_id)


@router.patch("/services/{service_id}", response_model=ServiceRead)
def update_service(service_id: Id, body: ServiceUpdate, ctx: CtxDep) -> object:
    return config.update_service(ctx, service_id, _changes(body, Service))


@router.delete("/services/{service_id}", status_code=204)
def delete_service(service_id: Id, ctx: CtxDep) -> Response:
    config.delete_service(ctx, service_id)
    return Response(status_code=204)


# counters
@router.get("/counters", response_model=list[CounterRead])
def list_counters(ctx: CtxDep, agency_id: Id | None = None, site_id: Id | None = None,
                  include_inactive: bool = Query(False)) -> object:
    return [CounterRead.of(c) for c in config.list_counters(ctx, agency_id, site_id,
                                                            include_inactive)]


@router.post("/counters", response_model=CounterRead, status_code=201)
def create_counter(body: CounterCreate, ctx: CtxDep) -> object:
    return CounterRead.of(config.create_counter(ctx, body.model_dump()))


@router.get("/counters/{counter_id}", response_model=CounterRead)
def get_counter(counter_id: Id, ctx: CtxDep) -> object:
    return CounterRead.of(config.get_counter(ctx, counter_id))


@router.patch("/counters/{counter_id}", response_model=CounterRead)
def update_counter(counter_id: Id, body: CounterUpdate, ctx: CtxDep) -> object:
    return CounterRead.of(config.update_counter(ctx, counter_id, _changes(body, Counter)))


@router.delete("/counters/{counter_id}", status_code=204)
def delete_counter(counter_id: Id, ctx: CtxDep) -> Response:
    config.delete_counter(ctx, counter_id)
    return Response(status_code=204)


# users
@router.get("/users", response_model=list[UserRead])
def list_users(ctx: CtxDep) -> object:
    return config.list_users(ctx)


@router.post("/users", response_model=UserRead, status_code=201)
def create_user(body: UserCreate, ctx: CtxDep) -> object:
    return config.create_user(ctx, body.model_dump())


@router.get("/users/{user_id}", response_model=UserRead)
def get_user(user_id: Id, ctx: CtxDep) -> object:
    return config.get_user(ctx, user_id)


@router.patch("/users/{user_id}", response_model=UserRead)
def update_user(user_id: Id, body: UserUpdate, ctx: CtxDep) -> object:
    return config.update_user(ctx, user_id, _changes(body, User))


@router.delete("/users/{user_id}", status_code=204)
def delete_user(user_id: Id, ctx: CtxDep) -> Response:
    config.delete_user(ctx, user_id)
    return Response(status_code=204)
