"""Moved to app.services.policy (one policy module); kept for code written against it."""

from app.services.policy import (  # noqa: F401
    STAFF_ROLES,
    agency_ids_in_scope,
    ensure_agency_visible,
    ensure_can_issue,
    ensure_can_operate,
    ensure_can_read_stats,
    require_role,
    site_ids_in_scope,
)
