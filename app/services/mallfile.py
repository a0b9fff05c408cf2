"""Load a mall description (the YAML of `mpp config import` and the demo) into the database."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.db.models import Agency, Service, SpecialDay
from app.domain import hours
from app.services import config
from app.services.context import Ctx, Principal

SYSTEM = Principal(kind="system", id=0, role="admin", name="system")


def load_mall(session: Session, doc: dict[str, Any], *, always_open: bool = False,
              passwords: dict[str, str] | None = None) -> dict[str, str]:
    """Create the sites in `doc`; returns username -> generated password."""
    ctx = Ctx(session=session, now=datetime.now(UTC), actor=SYSTEM)
    made: dict[str, str] = {}
    for s in doc.get("sites", []):
        site = config.create_site(ctx, {
            "code": s["code"], "name": s["name"], "timezone": s.get("timezone", "Asia/Jakarta"),
            "address": s.get("address"),
            "max_consecutive_priority": s.get("max_consecutive_priority", 3),
        })
        for sd in s.get("special_days", []):
            ranges = [[a, b] for a, b in sd.get("ranges", [])]
            if ranges:
                hours.validate_opening_hours({"mon": ranges})
            session.add(SpecialDay(site_id=site.id, day=date.fromisoformat(str(sd["day"])),
                                   ranges=ranges, note=sd.get("note")))
        services: dict[str, Service] = {}
        agencies: dict[str, Agency] = {}
        for a in s.get("agencies", []):
            agency = config.create_agency(ctx, {
                "site_id": site.id, "code": a["code"], "name": a["name"],
                "floor": a.get("floor"), "zone": a.get("zone"), "color": a.get("color"),
            })
            agencies[a["code"]] = agency
            for sv in a.get("services", []):
                data = {k: v for k, v in sv.items() if k != "code"}
                if always_open:
                    data["opening_hours"] = None
                services[sv["code"]] = config.create_service(
                    ctx, {"agency_id": agency.id, "code": sv["code"], **data})
        for c in s.get("counters", []):
            config.create_counter(ctx, {
                "agency_id": agencies[c["agency"]].id, "name": c["name"], "number": c["number"],
                "zone": c.get("zone"), "service_ids": [services[x].id for x in c["services"]],
            })
        for u in s.get("users", []):
            password = (passwords or {}).get(u["username"]) or secrets.token_urlsafe(9)
            config.create_user(ctx, {
                "username": u["username"], "password": password,
                "full_name": u.get("full_name"), "role": u["role"],
                "agency_id": agencies[u["agency"]].id if u.get("agency") else None,
                "site_id": site.id if u["role"] == "manager" else None,
            })
            made[u["username"]] = password
    session.flush()
    return made


def service_by_code(session: Session, code: str) -> Service:
    service = session.scalar(sa.select(Service).where(Service.code == code))
    assert service is not None
    return service
