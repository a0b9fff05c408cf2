"""Who may see and change what: every role and scope check, in one place.

Services call these; routers and pages only carry the principal in (app/api/deps.py resolves
it through app.services.principal). A check written anywhere else is a bug.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.db.models import Agency, Counter, Service, Ticket, User
from app.domain.errors import DomainError, InvalidValue
from app.services.context import Principal

STAFF_ROLES = ("admin", "manager", "officer")


def require_role(actor: Principal | None, *roles: str) -> Principal:
    if actor is None:
        raise DomainError("not_authenticated")
    if actor.role not in roles:
        raise DomainError("forbidden")
    return actor


def ensure_site_manager(actor: Principal | None, site_id: int) -> Principal:
    """A site's own settings: admins, or a manager of that whole site (not of one agency)."""
    actor = require_role(actor, "admin", "manager")
    if actor.role != "admin" and (actor.site_id != site_id or actor.agency_id is not None):
        raise DomainError("forbidden")
    return actor


def ensure_can_read_stats(actor: Principal | None) -> Principal:
    """Statistics: admins and managers (their scope), or a partner key with read:stats (its
    own site: a partner has a site and no agency, so the scopes below give that site)."""
    if actor is not None and actor.kind == "partner":
        if "read:stats" not in actor.scopes:
            raise DomainError("forbidden")
        return actor
    return require_role(actor, "admin", "manager")


def ensure_can_issue(actor: Principal | None, service_id: int) -> None:
    """A partner key issues tickets only with issue:tickets and only for its services (its
    site is checked by the issue decision like any caller's)."""
    if actor is not None and actor.kind == "partner" and (
            "issue:tickets" not in actor.scopes or service_id not in actor.service_ids):
        raise DomainError("forbidden")


def agency_ids_in_scope(session: Session, actor: Principal) -> set[int] | None:
    """None means every agency (admin, or a manager without a narrower scope)."""
    if actor.role == "admin":
        return None
    if actor.agency_id is not None:
        return {actor.agency_id}
    if actor.site_id is not None:
        rows = session.scalars(sa.select(Agency.id).where(Agency.site_id == actor.site_id))
        return set(rows)
    return None if actor.role == "manager" else set()


def site_ids_in_scope(session: Session, actor: Principal) -> set[int] | None:
    if actor.role == "admin":
        return None
    if actor.site_id is not None:
        return {actor.site_id}
    if actor.agency_id is not None:
        site_id = session.scalar(sa.select(Agency.site_id).where(Agency.id == actor.agency_id))
        return {site_id} if site_id is not None else set()
    return None if actor.role == "manager" else set()


def ensure_agency_visible(session: Session, actor: Principal, agency_id: int) -> None:
    scope = agency_ids_in_scope(session, actor)
    if scope is not None and agency_id not in scope:
        raise DomainError("forbidden")


def ensure_can_see_ticket(session: Session, actor: Principal, ticket: Ticket) -> None:
    """Officers see every ticket of their site (a citizen may come from another agency's
    queue); managers the tickets of the agencies in their scope."""
    if actor.role == "officer":
        sites = site_ids_in_scope(session, actor)
        if sites is None or ticket.site_id not in sites:
            raise DomainError("forbidden")
    else:
        ensure_agency_visible(session, actor, ticket.agency_id)


def ensure_can_operate(actor: Principal | None, agency_id: int) -> Principal:
    """Only admins and officers of the counter's own agency operate a counter."""
    actor = require_role(actor, "admin", "officer")
    if actor.role == "officer" and actor.agency_id != agency_id:
        raise DomainError("forbidden")
    return actor


def ensure_ticket_operable(session: Session, actor: Principal | None, ticket: Ticket,
                           counter: Counter | None = None) -> Principal:
    """A ticket action needs the ticket's own agency (its current step's) as well as the
    counter's: a counter misconfigured with another agency's service never lets its officers
    serve that agency's citizens."""
    actor = ensure_can_operate(actor, ticket.agency_id)
    if counter is not None:
        ensure_can_operate(actor, counter.agency_id)
        ensure_operator(session, actor, counter)
    return actor


def operator_conflict(actor: Principal, *, is_open: bool, officer_id: int | None) -> bool:
    """Another officer holds this open counter (after a take-over the previous officer only
    watches)."""
    return actor.role == "officer" and is_open and officer_id not in (None, actor.user_id)


def ensure_operator(session: Session, actor: Principal, counter: Counter) -> None:
    """One officer per counter: after a take-over the previous officer only watches."""
    if operator_conflict(actor, is_open=counter.is_open, officer_id=counter.officer_id):
        other = session.get(User, counter.officer_id)
        raise DomainError("counter_in_use",
                          officer=(other.full_name or other.username) if other else "-")


def ensure_counter_services(session: Session, actor: Principal | None, agency: Agency,
                            services: list[Service]) -> None:
    """A counter serves its own agency's services only, and only ones the caller manages."""
    scope = agency_ids_in_scope(session, actor) if actor is not None else None
    for service in services:
        if service.agency_id != agency.id:
            raise InvalidValue("service_ids", "layanan harus milik instansi loket ini",
                               "services must belong to the counter's agency")
        if scope is not None and service.agency_id not in scope:
            raise DomainError("forbidden")


def may_see_tracking_code(actor: Principal | None) -> bool:
    """The tracking code is the citizen's credential (the printed slip and its QR: tracking
    page, SKM survey). Only the issuer that hands it to the citizen sees it (a kiosk, a partner
    system, the citizen's own phone); staff answers never carry it (audit: officers rated their
    own service with codes read off call-next)."""
    return actor is None or (actor.kind in ("device", "partner") and actor.role != "tablet")


def ensure_can_submit_survey(actor: Principal | None, *, at_tablet: bool) -> Principal | None:
    """An SKM answer comes from the citizen: their own phone with the printed code (no
    credential), or the survey tablet bound to the counter. Staff sessions are refused."""
    if actor is not None and actor.kind == "user":
        raise DomainError("survey_staff_session")
    if at_tablet:
        if actor is None or actor.kind != "device" or actor.role != "tablet" \
                or actor.counter_id is None:
            raise DomainError("forbidden" if actor is not None else "not_authenticated")
        return actor
    if actor is not None:
        # A kiosk, display or partner key has no business answering a citizen's survey.
        raise DomainError("forbidden")
    return None
