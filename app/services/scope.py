"""Moved to app.services.policy (one policy module); kept for code written against it."""

from app.services.policy import (  # noqa: F401
    STAFF_ROLES,
    agency_ids_in_scope,
    ensure_agency_visible,
    ensure_can_operate,
    require_role,
    site_ids_in_scope,
)
