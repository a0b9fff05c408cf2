"""Configuring the mall: sites, agencies, services, counters, users. Every change is audited."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.db.models import (
    Agency,
    AuditLog,
    Base,
    Counter,
    Service,
    Site,
    Ticket,
    TicketEvent,
    User,
)
from app.domain import events as ev
from app.domain import hours, numbering
from app.domain.errors import DomainError, InvalidValue, NotFound
from app.domain.events import Event
from app.services import passwords, policy, principal
from app.services.context import Ctx, Principal
from app.services.policy import agency_ids_in_scope, require_role, site_ids_in_scope
from app.services.sitetime import local_now

ROLES = ("admin", "manager", "officer", "kiosk", "display")
NAMES = {
    Site: ("Lokasi", "Site"),
    Agency: ("Instansi", "Agency"),
    Service: ("Layanan", "Service"),
    Counter: ("Loket", "Counter"),
    User: ("Pengguna", "User"),
}


def audit(ctx: Ctx, action: str, entity: str, entity_id: int | None,
          changes: dict[str, Any] | None = None) -> None:
    actor = ctx.actor
    ctx.session.add(AuditLog(
        at=ctx.now, user_id=actor.user_id if actor else None,
        username=actor.name if actor else None, action=action, entity=entity,
        entity_id=entity_id, changes=_jsonable(changes), ip=ctx.ip,
    ))


def _jsonable(changes: dict[str, Any] | None) -> dict[str, Any] | None:
    if changes is None:
        return None
    out: dict[str, Any] = {}
    for k, v in changes.items():
        if k in ("password", "password_hash"):
            out[k] = "***"
        elif isinstance(v, (str, int, float, bool, list, dict)) or v is None:
            out[k] = v
        else:
            out[k] = str(v)
    return out


def _get(session: Session, model: type[Base], obj_id: int) -> Any:
    obj = session.get(model, obj_id)
    if obj is None:
        raise NotFound(*NAMES[model])  # type: ignore[index]
    return obj


def _apply(obj: Any, data: dict[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for key, value in data.items():
        if getattr(obj, key) != value:
            changes[key] = value
            setattr(obj, key, value)
    return changes


def _config_changed(ctx: Ctx, site_id: int, entity: str, entity_id: int) -> None:
    ctx.emit(Event(ev.CONFIG_CHANGED, site_id, {"entity": entity, "id": entity_id}))


# --- sites ----------------------------------------------------------------------------------


def list_sites(ctx: Ctx) -> list[Site]:
    actor = require_role(ctx.actor, "admin", "manager", "officer")
    stmt = sa.select(Site).order_by(Site.id)
    scope = site_ids_in_scope(ctx.session, actor)
    if scope is not None:
        stmt = stmt.where(Site.id.in_(scope))
    return list(ctx.session.scalars(stmt))


def get_site(ctx: Ctx, site_id: int) -> Site:
    actor = require_role(ctx.actor, "admin", "manager", "officer")
    site = _get(ctx.session, Site, site_id)
    scope = site_ids_in_scope(ctx.session, actor)
    if scope is not None and site_id not in scope:
        raise NotFound("Lokasi", "Site")
    return site


def _check_site(data: dict[str, Any]) -> None:
    if "timezone" in data:
        numbering.validate_timezone(data["timezone"])
    if data.get("max_consecutive_priority") is not None and data["max_consecutive_priority"] < 1:
        raise InvalidValue("max_consecutive_priority", "minimal 1", "at least 1")


def _unique_site_code(session: Session, code: str, exclude: int | None = None) -> None:
    stmt = sa.select(Site.id).where(Site.code == code)
    if exclude:
        stmt = stmt.where(Site.id != exclude)
    if session.scalar(stmt) is not None:
        raise DomainError("code_taken", code=code)


def create_site(ctx: Ctx, data: dict[str, Any]) -> Site:
    require_role(ctx.actor, "admin")
    _check_site(data)
    _unique_site_code(ctx.session, data["code"])
    site = Site(**data)
    ctx.session.add(site)
    ctx.session.flush()
    audit(ctx, "create", "site", site.id, data)
    return site


def update_site(ctx: Ctx, site_id: int, data: dict[str, Any]) -> Site:
    actor = require_role(ctx.actor, "admin", "manager")
    site = _get(ctx.session, Site, site_id)
    if actor.role == "manager" and (actor.agency_id is not None or actor.site_id != site_id):
        raise DomainError("forbidden")
    if actor.role != "admin" and data.get("is_active") is False:
        # Switching a whole site off (its kiosks, boards, bookings) is the admin's decision.
        raise DomainError("forbidden")
    _check_site(data)
    if "code" in data:
        _unique_site_code(ctx.session, data["code"], site_id)
    changes = _apply(site, data)
    if changes:
        audit(ctx, "update", "site", site.id, changes)
        _config_changed(ctx, site.id, "site", site.id)
    return site


# --- agencies -------------------------------------------------------------------------------


def list_agencies(ctx: Ctx, site_id: int | None = None, include_inactive: bool = False
                  ) -> list[Agency]:
    actor = require_role(ctx.actor, "admin", "manager", "officer")
    stmt = sa.select(Agency).order_by(Agency.site_id, Agency.code)
    if site_id is not None:
        stmt = stmt.where(Agency.site_id == site_id)
    if not include_inactive:
        stmt = stmt.where(Agency.is_active.is_(True))
    scope = agency_ids_in_scope(ctx.session, actor)
    if scope is not None:
        stmt = stmt.where(Agency.id.in_(scope))
    return list(ctx.session.scalars(stmt))


def get_agency(ctx: Ctx, agency_id: int) -> Agency:
    actor = require_role(ctx.actor, "admin", "manager", "officer")
    agency = _get(ctx.session, Agency, agency_id)
    scope = agency_ids_in_scope(ctx.session, actor)
    if scope is not None and agency_id not in scope:
        raise NotFound("Instansi", "Agency")
    return agency


def _ensure_manage_site(ctx: Ctx, site_id: int) -> Principal:
    actor = require_role(ctx.actor, "admin", "manager")
    if actor.role == "manager":
        if actor.agency_id is not None or actor.site_id not in (None, site_id):
            raise DomainError("forbidden")
    return actor


def _ensure_manage_agency(ctx: Ctx, agency_id: int) -> Principal:
    actor = require_role(ctx.actor, "admin", "manager")
    scope = agency_ids_in_scope(ctx.session, actor)
    if scope is not None and agency_id not in scope:
        raise DomainError("forbidden")
    return actor


def create_agency(ctx: Ctx, data: dict[str, Any]) -> Agency:
    _get(ctx.session, Site, data["site_id"])
    _ensure_manage_site(ctx, data["site_id"])
    clash = ctx.session.scalar(sa.select(Agency.id).where(
        Agency.site_id == data["site_id"], Agency.code == data["code"]))
    if clash is not None:
        raise DomainError("code_taken", code=data["code"])
    agency = Agency(**data)
    ctx.session.add(agency)
    ctx.session.flush()
    audit(ctx, "create", "agency", agency.id, data)
    _config_changed(ctx, agency.site_id, "agency", agency.id)
    return agency


def update_agency(ctx: Ctx, agency_id: int, data: dict[str, Any]) -> Agency:
    agency = _get(ctx.session, Agency, agency_id)
    _ensure_manage_agency(ctx, agency_id)
    data.pop("site_id", None)
    if "code" in data:
        clash = ctx.session.scalar(sa.select(Agency.id).where(
            Agency.site_id == agency.site_id, Agency.code == data["code"], Agency.id != agency_id))
        if clash is not None:
            raise DomainError("code_taken", code=data["code"])
    changes = _apply(agency, data)
    if changes:
        audit(ctx, "update", "agency", agency.id, changes)
        _config_changed(ctx, agency.site_id, "agency", agency.id)
    return agency


def delete_agency(ctx: Ctx, agency_id: int) -> None:
    agency = _get(ctx.session, Agency, agency_id)
    _ensure_manage_site(ctx, agency.site_id)
    agency.is_active = False
    for service in ctx.session.scalars(sa.select(Service).where(Service.agency_id == agency_id)):
        service.is_active = False
    for counter in ctx.session.scalars(sa.select(Counter).where(Counter.agency_id == agency_id)):
        counter.is_active = False
        counter.is_open = False
    audit(ctx, "deactivate", "agency", agency_id)
    _config_changed(ctx, agency.site_id, "agency", agency.id)


# --- services -------------------------------------------------------------------------------


def list_services(ctx: Ctx, agency_id: int | None = None, site_id: int | None = None,
                  include_inactive: bool = False) -> list[Service]:
    actor = require_role(ctx.actor, "admin", "manager", "officer")
    stmt = sa.select(Service).order_by(Service.site_id, Service.prefix, Service.id)
    if agency_id is not None:
        stmt = stmt.where(Service.agency_id == agency_id)
    if site_id is not None:
        stmt = stmt.where(Service.site_id == site_id)
    if not include_inactive:
        stmt = stmt.where(Service.is_active.is_(True))
    if actor.role != "officer":
        scope = agency_ids_in_scope(ctx.session, actor)
        if scope is not None:
            stmt = stmt.where(Service.agency_id.in_(scope))
    else:
        # Officers see every service of their site: they transfer citizens across agencies.
        sites = site_ids_in_scope(ctx.session, actor)
        if sites is not None:
            stmt = stmt.where(Service.site_id.in_(sites))
    return list(ctx.session.scalars(stmt))


def get_service(ctx: Ctx, service_id: int) -> Service:
    actor = require_role(ctx.actor, "admin", "manager", "officer")
    service = _get(ctx.session, Service, service_id)
    # The same scope as list_services: officers see their site, managers their agencies.
    if actor.role == "officer":
        sites = site_ids_in_scope(ctx.session, actor)
        if sites is not None and service.site_id not in sites:
            raise NotFound("Layanan", "Service")
    else:
        scope = agency_ids_in_scope(ctx.session, actor)
        if scope is not None and service.agency_id not in scope:
            raise NotFound("Layanan", "Service")
    return service


def _check_service(ctx: Ctx, data: dict[str, Any], site_id: int,
                   exclude: int | None = None) -> None:
    session = ctx.session
    if "prefix" in data:
        data["prefix"] = numbering.validate_prefix(data["prefix"])
        stmt = sa.select(Service.id).where(Service.site_id == site_id,
                                           Service.prefix == data["prefix"])
        if exclude is not None:
            stmt = stmt.where(Service.id != exclude)
        if session.scalar(stmt) is not None:
            raise DomainError("prefix_taken", prefix=data["prefix"])
        # Numbers are unique per site and day: a prefix another service gave out today stays
        # its own until tomorrow, or the next ticket would repeat a number already called.
        site = _get(session, Site, site_id)
        used = sa.select(Ticket.id).where(
            Ticket.site_id == site_id, Ticket.day == local_now(site, ctx.now).date(),
            Ticket.number.like(data["prefix"] + numbering.SEPARATOR + "%"))
        if exclude is not None:
            used = used.where(Ticket.service_id != exclude)
        if session.scalar(used.limit(1)) is not None:
            raise DomainError("prefix_used_today", prefix=data["prefix"])
    if "opening_hours" in data:
        data["opening_hours"] = hours.validate_opening_hours(data["opening_hours"])
    if data.get("daily_quota") is not None and data["daily_quota"] < 0:
        raise InvalidValue("daily_quota", "kuota tidak boleh negatif", "quota cannot be negative")
    if "typical_minutes" in data and not 1 <= data["typical_minutes"] <= 480:
        raise InvalidValue("typical_minutes", "harus antara 1 dan 480 menit",
                           "must be between 1 and 480 minutes")


def create_service(ctx: Ctx, data: dict[str, Any]) -> Service:
    agency = _get(ctx.session, Agency, data["agency_id"])
    _ensure_manage_agency(ctx, agency.id)
    _check_service(ctx, data, agency.site_id)
    service = Service(site_id=agency.site_id, **data)
    ctx.session.add(service)
    ctx.session.flush()
    audit(ctx, "create", "service", service.id, data)
    _config_changed(ctx, agency.site_id, "service", service.id)
    return service


def update_service(ctx: Ctx, service_id: int, data: dict[str, Any]) -> Service:
    service = _get(ctx.session, Service, service_id)
    _ensure_manage_agency(ctx, service.agency_id)
    if "agency_id" in data and data["agency_id"] != service.agency_id:
        target = _get(ctx.session, Agency, data["agency_id"])
        _ensure_manage_agency(ctx, target.id)
        if target.site_id != service.site_id:
            raise InvalidValue("agency_id", "instansi harus di lokasi yang sama",
                               "the agency must be at the same site")
    _check_service(ctx, data, service.site_id, exclude=service_id)
    changes = _apply(service, data)
    if changes:
        audit(ctx, "update", "service", service.id, changes)
        _config_changed(ctx, service.site_id, "service", service.id)
    return service


def _referenced(session: Session, column: sa.ColumnElement[Any], value: int) -> bool:
    return session.scalar(sa.select(sa.literal(1)).where(column == value).limit(1)) is not None


def delete_service(ctx: Ctx, service_id: int) -> None:
    from app.db.models import counter_service

    service = _get(ctx.session, Service, service_id)
    _ensure_manage_agency(ctx, service.agency_id)
    if _referenced(ctx.session, Ticket.service_id, service_id):
        service.is_active = False
        audit(ctx, "deactivate", "service", service_id)
    else:
        ctx.session.execute(sa.delete(counter_service).where(
            counter_service.c.service_id == service_id))
        from app.db.models import ServiceDay

        ctx.session.execute(sa.delete(ServiceDay).where(ServiceDay.service_id == service_id))
        ctx.session.delete(service)
        audit(ctx, "delete", "service", service_id)
    _config_changed(ctx, service.site_id, "service", service_id)


# --- counters -------------------------------------------------------------------------------


def list_counters(ctx: Ctx, agency_id: int | None = None, site_id: int | None = None,
                  include_inactive: bool = False) -> list[Counter]:
    actor = require_role(ctx.actor, "admin", "manager", "officer")
    stmt = sa.select(Counter).join(Counter.agency).order_by(Counter.agency_id, Counter.number)
    if agency_id is not None:
        stmt = stmt.where(Counter.agency_id == agency_id)
    if site_id is not None:
        stmt = stmt.where(Agency.site_id == site_id)
    if not include_inactive:
        stmt = stmt.where(Counter.is_active.is_(True))
    scope = agency_ids_in_scope(ctx.session, actor)
    if scope is not None:
        stmt = stmt.where(Counter.agency_id.in_(scope))
    return list(ctx.session.scalars(stmt).unique())


def get_counter(ctx: Ctx, counter_id: int) -> Counter:
    actor = require_role(ctx.actor, "admin", "manager", "officer")
    counter = _get(ctx.session, Counter, counter_id)
    scope = agency_ids_in_scope(ctx.session, actor)
    if scope is not None and counter.agency_id not in scope:
        raise DomainError("forbidden")
    return counter


def _counter_services(ctx: Ctx, agency: Agency, service_ids: list[int]) -> list[Service]:
    session = ctx.session
    services = list(session.scalars(sa.select(Service).where(Service.id.in_(service_ids))))
    if len(services) != len(set(service_ids)):
        raise InvalidValue("service_ids", "layanan tidak ditemukan", "unknown service")
    policy.ensure_counter_services(session, ctx.actor, agency, services)
    return services


def create_counter(ctx: Ctx, data: dict[str, Any]) -> Counter:
    agency = _get(ctx.session, Agency, data["agency_id"])
    _ensure_manage_agency(ctx, agency.id)
    service_ids = data.pop("service_ids", []) or []
    counter = Counter(**data)
    counter.services = _counter_services(ctx, agency, service_ids)
    ctx.session.add(counter)
    ctx.session.flush()
    audit(ctx, "create", "counter", counter.id, {**data, "service_ids": service_ids})
    _config_changed(ctx, agency.site_id, "counter", counter.id)
    return counter


def update_counter(ctx: Ctx, counter_id: int, data: dict[str, Any]) -> Counter:
    counter = _get(ctx.session, Counter, counter_id)
    _ensure_manage_agency(ctx, counter.agency_id)
    if "agency_id" in data and data["agency_id"] != counter.agency_id:
        _ensure_manage_agency(ctx, data["agency_id"])
    service_ids = data.pop("service_ids", None)
    changes = _apply(counter, data)
    if service_ids is not None or "agency_id" in changes:
        # Moving a counter to another agency re-checks the services it keeps.
        agency = _get(ctx.session, Agency, counter.agency_id)
        kept = [s.id for s in counter.services] if service_ids is None else service_ids
        counter.services = _counter_services(ctx, agency, kept)
    if service_ids is not None:
        changes["service_ids"] = service_ids
    if changes:
        audit(ctx, "update", "counter", counter.id, changes)
        _config_changed(ctx, counter.agency.site_id, "counter", counter.id)
    return counter


def delete_counter(ctx: Ctx, counter_id: int) -> None:
    counter = _get(ctx.session, Counter, counter_id)
    _ensure_manage_agency(ctx, counter.agency_id)
    counter.is_active = False
    counter.is_open = False
    counter.officer_id = None
    audit(ctx, "deactivate", "counter", counter_id)
    _config_changed(ctx, counter.agency.site_id, "counter", counter_id)


# --- users ----------------------------------------------------------------------------------


def list_users(ctx: Ctx) -> list[User]:
    actor = require_role(ctx.actor, "admin", "manager")
    stmt = sa.select(User).order_by(User.id)
    scope = agency_ids_in_scope(ctx.session, actor)
    if scope is not None:
        stmt = stmt.where(User.agency_id.in_(scope))
    return list(ctx.session.scalars(stmt))


def get_user(ctx: Ctx, user_id: int) -> User:
    actor = require_role(ctx.actor, "admin", "manager", "officer")
    user = _get(ctx.session, User, user_id)
    if actor.role == "officer" and actor.id != user_id:
        raise DomainError("forbidden")
    if actor.role == "manager":
        scope = agency_ids_in_scope(ctx.session, actor)
        if scope is not None and user.agency_id not in scope:
            raise DomainError("forbidden")
    return user


def _check_user(ctx: Ctx, data: dict[str, Any], exclude: int | None = None) -> None:
    actor = ctx.actor
    assert actor is not None
    if "role" in data:
        if data["role"] not in ("admin", "manager", "officer"):
            raise InvalidValue("role", "peran tidak dikenal", "unknown role")
        if actor.role == "manager" and data["role"] != "officer":
            raise DomainError("forbidden")
    if data.get("agency_id") is not None:
        _get(ctx.session, Agency, data["agency_id"])
        if actor.role == "manager":
            _ensure_manage_agency(ctx, data["agency_id"])
    elif actor.role == "manager" and "agency_id" in data:
        raise DomainError("forbidden")
    if data.get("site_id") is not None:
        _get(ctx.session, Site, data["site_id"])
    if "username" in data:
        stmt = sa.select(User.id).where(User.username == data["username"])
        if exclude is not None:
            stmt = stmt.where(User.id != exclude)
        if ctx.session.scalar(stmt) is not None:
            raise DomainError("username_taken", username=data["username"])
    if "password" in data:
        names: tuple[str | None, ...] = (data.get("username"), data.get("full_name"))
        existing = ctx.session.get(User, exclude) if exclude is not None else None
        if existing is not None:
            names += (existing.username, existing.full_name)
        passwords.check_strength(data["password"], names)


def create_user(ctx: Ctx, data: dict[str, Any]) -> User:
    actor = require_role(ctx.actor, "admin", "manager")
    if actor.role == "manager" and data.get("agency_id") is None:
        data["agency_id"] = actor.agency_id
    _check_user(ctx, data)
    if data.get("role") == "officer" and data.get("agency_id") is None:
        raise InvalidValue("agency_id", "petugas loket harus punya instansi",
                           "an officer needs an agency")
    password = data.pop("password")
    user = User(password_hash=passwords.hash_password(password), **data)
    ctx.session.add(user)
    ctx.session.flush()
    audit(ctx, "create", "user", user.id, data)
    return user


def update_user(ctx: Ctx, user_id: int, data: dict[str, Any]) -> User:
    user = get_user(ctx, user_id)
    require_role(ctx.actor, "admin", "manager")
    _check_user(ctx, data, exclude=user_id)
    password = data.pop("password", None)
    changes = _apply(user, data)
    if password is not None:
        user.password_hash = passwords.hash_password(password)
        user.failed_logins = 0
        user.locked_until = None
        changes["password"] = "***"  # noqa: S105 - the audit log hides it
    if password is not None or {"is_active", "role", "agency_id", "site_id"} & set(changes):
        # A new password, a deactivation or a new scope: the old sessions must not go on.
        principal.end_sessions(ctx, user)
    if changes:
        audit(ctx, "update", "user", user.id, changes)
    return user


def delete_user(ctx: Ctx, user_id: int) -> None:
    user = get_user(ctx, user_id)
    require_role(ctx.actor, "admin", "manager")
    if ctx.actor and ctx.actor.user_id == user_id:
        raise InvalidValue("id", "tidak dapat menonaktifkan akun sendiri",
                           "you cannot deactivate your own account")
    referenced = _referenced(ctx.session, TicketEvent.user_id, user_id) or _referenced(
        ctx.session, AuditLog.user_id, user_id)
    if referenced:
        user.is_active = False
        principal.end_sessions(ctx, user)
        for counter in ctx.session.scalars(sa.select(Counter).where(Counter.officer_id == user_id)):
            counter.officer_id = None
            counter.is_open = False
        audit(ctx, "deactivate", "user", user_id)
    else:
        principal.end_sessions(ctx, user)
        ctx.session.delete(user)
        audit(ctx, "delete", "user", user_id)
