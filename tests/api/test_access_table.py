"""Issue 15/16: every operation of /openapi.json under every role, against ONE expected table.

Each request is valid for its operation (built from the schema, with the world's real ids), so
what answers is the policy, not validation. "deny" is 401 or 403; anything else (200, 204,
404, 409, 422, ...) means the policy let the request through to the use case. Each request
runs in a savepoint rolled back afterwards, so a DELETE as admin does not change what the next
role sees. The policy does not depend on the database: SQLite only.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from app.db.models import Device
from app.services import auth, config
from app.services.context import Ctx
from app.services.mallfile import SYSTEM
from tests.api.access_table import example
from tests.support.world import PASSWORD, World

ROLES = ("anon", "kiosk", "display", "tablet", "officer_a", "officer_b", "agency_mgr", "site_mgr",
         "admin")
GROUPS = {
    "all": ROLES,
    "none": (),
    "staff": ("officer_a", "officer_b", "agency_mgr", "site_mgr", "admin"),
    "managers": ("agency_mgr", "site_mgr", "admin"),
    "issuers": ("kiosk", "officer_a", "officer_b", "agency_mgr", "site_mgr", "admin"),
}


def expected(entry: str) -> set[str]:
    return set(GROUPS[entry]) if entry in GROUPS else set(entry.split())

# THE expected-access table: operation -> the roles the policy lets through ("none", a group
# above, or role names). Every request concerns Dukcapil's things (agency A: its ticket,
# counter, service, officer), so officer_b is the officer of another agency. Codes in paths
# (tracking, booking) are the citizen's credential: those operations are open to all.
# Sign-in and provider callbacks need their own secret, which the example lacks: "none".
EXPECTED: dict[str, str] = {
    "POST /api/v1/auth/token": "none",
    "POST /api/v1/auth/logout": "staff",
    "GET /api/v1/catalog": "all",
    "POST /api/v1/tickets": "issuers",
    "GET /api/v1/tickets/{ticket_id}": "staff",
    "GET /api/v1/track/{tracking_code}": "all",
    "POST /api/v1/counters/{counter_id}/open": "officer_a admin",
    "POST /api/v1/counters/{counter_id}/close": "officer_a admin",
    "POST /api/v1/counters/{counter_id}/call-next": "officer_a admin",
    "POST /api/v1/tickets/{ticket_id}/recall": "officer_a admin",
    "POST /api/v1/tickets/{ticket_id}/start": "officer_a admin",
    "POST /api/v1/tickets/{ticket_id}/finish": "officer_a admin",
    "POST /api/v1/tickets/{ticket_id}/no-show": "officer_a admin",
    "POST /api/v1/tickets/{ticket_id}/resume": "officer_a admin",
    "POST /api/v1/tickets/{ticket_id}/cancel": "officer_a admin",
    "POST /api/v1/tickets/{ticket_id}/hold": "officer_a admin",
    "POST /api/v1/tickets/{ticket_id}/call": "officer_a admin",
    "POST /api/v1/tickets/{ticket_id}/transfer": "officer_a admin",
    "POST /api/v1/tickets/{ticket_id}/steps": "officer_a admin",
    "DELETE /api/v1/tickets/{ticket_id}/steps/{step_id}": "officer_a admin",
    "PUT /api/v1/tickets/{ticket_id}/steps/order": "officer_a admin",
    "GET /healthz": "all",
    "GET /readyz": "all",
    "GET /metrics": "all",
    "GET /api/v1/sites": "staff",
    "POST /api/v1/sites": "admin",
    "GET /api/v1/sites/{site_id}": "staff",
    "PATCH /api/v1/sites/{site_id}": "site_mgr admin",
    "GET /api/v1/agencies": "staff",
    "POST /api/v1/agencies": "site_mgr admin",
    "GET /api/v1/agencies/{agency_id}": "staff",
    "PATCH /api/v1/agencies/{agency_id}": "managers",
    "DELETE /api/v1/agencies/{agency_id}": "site_mgr admin",
    "GET /api/v1/services": "staff",
    "POST /api/v1/services": "managers",
    "GET /api/v1/services/{service_id}": "staff",
    "PATCH /api/v1/services/{service_id}": "managers",
    "DELETE /api/v1/services/{service_id}": "managers",
    "GET /api/v1/counters": "staff",
    "POST /api/v1/counters": "managers",
    "GET /api/v1/counters/{counter_id}": "officer_a agency_mgr site_mgr admin",
    "PATCH /api/v1/counters/{counter_id}": "managers",
    "DELETE /api/v1/counters/{counter_id}": "managers",
    "GET /api/v1/users": "managers",
    "POST /api/v1/users": "admin",
    "GET /api/v1/users/{user_id}": "officer_a agency_mgr site_mgr admin",
    "PATCH /api/v1/users/{user_id}": "managers",
    "DELETE /api/v1/users/{user_id}": "managers",
    "GET /api/v1/stats/summary": "managers",
    "GET /api/v1/stats/report": "managers",
    "GET /api/v1/stats/export.csv": "managers",
    "GET /api/v1/stats/export.xlsx": "managers",
    "GET /api/v1/stats/ikm": "managers",
    "GET /api/v1/stats/dashboard": "managers",
    "GET /api/v1/stats/settings/ikm-weights": "managers",
    "PUT /api/v1/stats/settings/ikm-weights": "admin",
    "GET /api/v1/stats/settings/alerts": "managers",
    "PUT /api/v1/stats/settings/alerts": "managers",
    "GET /api/v1/surveys/unsur": "all",
    # The citizen's code (anonymous) or the counter's survey tablet; never a staff session.
    "POST /api/v1/surveys": "anon tablet",
    "GET /api/v1/surveys/tablet": "tablet",
    "GET /api/v1/surveys/pending": "officer_a agency_mgr site_mgr admin",
    "GET /api/v1/devices": "site_mgr admin",
    "POST /api/v1/devices": "site_mgr admin",
    "GET /api/v1/devices/{device_id}": "site_mgr admin",
    "POST /api/v1/devices/{device_id}/revoke": "site_mgr admin",
    "GET /api/v1/sites/{site_id}/special-days": "staff",
    "POST /api/v1/sites/{site_id}/special-days": "site_mgr admin",
    "DELETE /api/v1/sites/{site_id}/special-days/{day}": "site_mgr admin",
    "GET /api/v1/audit": "admin",
    "GET /api/v1/audit/facets": "admin",
    "GET /api/v1/admin/retention": "admin",
    "PUT /api/v1/admin/retention": "admin",
    "POST /api/v1/admin/purge": "admin",
    "GET /api/v1/booking/catalog": "all",
    "GET /api/v1/booking/slots": "all",
    "POST /api/v1/bookings": "all",
    "GET /api/v1/bookings": "officer_a agency_mgr site_mgr admin",
    "GET /api/v1/bookings/{code}": "all",
    "GET /api/v1/bookings/{code}/qr.svg": "all",
    "POST /api/v1/bookings/{code}/cancel": "all",
    "POST /api/v1/bookings/{code}/check-in": "issuers",
    "GET /api/v1/booking/counts": "staff",
    "GET /api/v1/booking/policy": "managers",
    "PUT /api/v1/booking/policy": "admin",
    "GET /api/v1/open-data/daily": "all",
    "GET /api/v1/open-data/skm": "all",
    "GET /api/v1/open-data/{name}.schema.json": "all",
    "GET /api/v1/open-data/datapackage.json": "all",
    "GET /api/v1/skm/follow-ups": "managers",
    "POST /api/v1/skm/follow-ups": "managers",
    "PATCH /api/v1/skm/follow-ups/{item_id}": "managers",
    "DELETE /api/v1/skm/follow-ups/{item_id}": "managers",
    "GET /api/v1/boards": "managers",
    "POST /api/v1/boards": "site_mgr admin",
    "GET /api/v1/boards/{board_id}": "managers",
    "PATCH /api/v1/boards/{board_id}": "site_mgr admin",
    "DELETE /api/v1/boards/{board_id}": "site_mgr admin",
    "GET /api/v1/notify/whatsapp/status": "none",
    "POST /api/v1/notify/whatsapp/status": "all",
    "GET /api/v1/notify/sms/status": "none",
    "POST /api/v1/notify/sms/status": "none",
    "GET /api/v1/sites/{site_id}/notifications": "site_mgr admin",
    "POST /api/v1/tickets/{ticket_id}/contact": "officer_a admin",
    "POST /api/v1/otp": "all",
    "GET /api/v1/tickets/{ticket_id}/contact": "officer_a admin",
    "PUT /api/v1/sites/{site_id}/notifications": "site_mgr admin",
    "GET /api/v1/packages": "staff",
    "POST /api/v1/packages": "site_mgr admin",
    "GET /api/v1/packages/{package_id}": "staff",
    "PATCH /api/v1/packages/{package_id}": "site_mgr admin",
    "DELETE /api/v1/packages/{package_id}": "site_mgr admin",
    "GET /api/v1/counters/{counter_id}/console": "officer_a agency_mgr site_mgr admin",
    "POST /api/v1/sites/{site_id}/close-day": "admin",
    "GET /display": "all",
    "GET /display/{board_id}": "all",
    "GET /api/v1/join/code": "all",
    "GET /join/qr/{site_id}.svg": "all",
    "GET /join/{site_id}": "all",
    "POST /join/{site_id}": "all",
    "POST /t/{tracking_code}/late": "all",
    "POST /t/{tracking_code}/leave": "all",
    "POST /api/v1/surveys/paper": "managers",
    "POST /api/v1/counters/{counter_id}/break": "officer_a admin",
    "POST /api/v1/counters/{counter_id}/break/end": "officer_a admin",
    "GET /api/v1/stats/visits": "managers",
    "POST /api/v1/sites/{site_id}/special-days/prefill": "site_mgr admin",
    "POST /api/v1/webhooks": "admin",
    "GET /api/v1/webhooks": "admin",
    "GET /api/v1/webhooks/{endpoint_id}": "admin",
    "PATCH /api/v1/webhooks/{endpoint_id}": "admin",
    "DELETE /api/v1/webhooks/{endpoint_id}": "admin",
    "GET /api/v1/webhooks/{endpoint_id}/deliveries": "admin",
    "POST /api/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}/redeliver": "admin",
    "POST /api/v1/partner-keys": "admin",
    "GET /api/v1/partner-keys": "admin",
    "DELETE /api/v1/partner-keys/{key_id}": "admin",
}

ID_FIELDS = {"service_id": "ktp", "agency_id": "dukcapil", "site_id": "site",
             "counter_id": "c1", "user_id": "officer_d", "device_id": "kiosk",
             "ticket_id": "ticket", "board_id": "board", "package_id": "package",
             "item_id": "follow_up"}
# Things the world lacks, made by the admin through the API first (path param -> collection).
MADE = {"board": "/api/v1/boards", "package": "/api/v1/packages",
        "follow_up": "/api/v1/skm/follow-ups"}


async def _ids(api: Any, spec: dict[str, Any], w: World, admin: dict[str, str]
               ) -> dict[str, int]:
    r = await api.post("/api/v1/tickets", json={"service_id": w.ktp.id},
                       headers={"Authorization": f"Bearer {w.kiosk_token}"})
    ids = {"ktp": w.ktp.id, "dukcapil": w.dukcapil.id, "site": w.site.id, "c1": w.c1.id,
           "officer_d": w.officer_d.id, "kiosk": w.kiosk.id, "ticket": r.json()["id"]}
    for name, path in MADE.items():
        schema = spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        body = _fill(example(schema["schema"], spec), ids)
        if name == "package":
            body["service_ids"] = [w.ktp.id, w.kk.id]
        r = await api.post(path, json=body, headers=admin)
        assert r.status_code == 201, (path, r.text)
        ids[name] = r.json()["id"]
    return ids


def _fill(value: Any, ids: dict[str, int], key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, ids, k) for k, v in value.items()}
    if isinstance(value, list):
        if key in ("service_ids", "next_service_ids"):
            return [ids["ktp"]] if key == "service_ids" else []
        return [_fill(v, ids, key) for v in value]
    if key in ID_FIELDS and isinstance(value, int):
        return ids[ID_FIELDS[key]]
    return value


def requests(spec: dict[str, Any], ids: dict[str, int]) -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            url = path
            query = {}
            for p in op.get("parameters", []):
                value = _fill(example(p.get("schema", {}), spec, p["name"]), ids, p["name"])
                if p["in"] == "path":
                    url = url.replace("{" + p["name"] + "}", str(value))
                elif p["in"] == "query" and p.get("required"):
                    query[p["name"]] = value
            kwargs: dict[str, Any] = {"params": query}
            content = (op.get("requestBody") or {}).get("content", {})
            if "application/json" in content:
                body = example(content["application/json"]["schema"], spec)
                kwargs["content"] = json.dumps(_fill(body, ids))
                kwargs["headers"] = {"content-type": "application/json"}
            elif "application/x-www-form-urlencoded" in content:
                body = example(content["application/x-www-form-urlencoded"]["schema"], spec)
                kwargs["data"] = _fill(body, ids)
            out.append((f"{method.upper()} {path}", url, kwargs))
    return out


def _headers(app: Any, world: World, session: Any) -> dict[str, dict[str, str]]:
    ctx = Ctx(session=session, now=datetime.now(UTC), actor=SYSTEM)
    agency_mgr = config.create_user(ctx, {"username": "manajer-duk", "password": PASSWORD,
                                          "role": "manager", "agency_id": world.dukcapil.id})
    token, token_hash = auth.new_device_token()
    session.add(Device(site_id=world.site.id, kind="display", name="Papan", token_hash=token_hash))
    tablet, tablet_hash = auth.new_device_token()
    session.add(Device(site_id=world.site.id, kind="tablet", name="Tablet", token_hash=tablet_hash,
                       counter_id=world.c1.id))
    session.commit()
    sign = app.state.token_signer.issue
    bearer = {
        "kiosk": world.kiosk_token, "display": token, "tablet": tablet,
        "officer_a": sign(world.officer_d),
        "officer_b": sign(world.officer_i), "agency_mgr": sign(agency_mgr),
        "site_mgr": sign(world.manager), "admin": sign(world.admin),
    }
    return {"anon": {}, **{r: {"Authorization": f"Bearer {t}"} for r, t in bearer.items()}}


async def test_every_operation_under_every_role_matches_the_table(api, app, world, session,
                                                                  connection, backend):
    if backend != "sqlite":
        pytest.skip("the policy does not depend on the database")
    headers = _headers(app, world, session)
    spec = app.openapi()
    ids = await _ids(api, spec, world, headers["admin"])
    observed: dict[str, set[str]] = {}
    for name, url, kwargs in requests(spec, ids):
        allowed = set()
        for role in ROLES:
            savepoint = connection.begin_nested()
            try:
                extra = kwargs.get("headers", {})
                r = await api.request(name.split()[0], url, **{
                    **kwargs, "headers": {**extra, **headers[role]}})
            finally:
                savepoint.rollback()
                session.expire_all()
            if r.status_code not in (401, 403):
                allowed.add(role)
        observed[name] = allowed
    # A new operation needs its line in the table: the contract grows with its policy.
    missing = {k: " ".join(r for r in ROLES if r in v) for k, v in observed.items()
               if k not in EXPECTED}
    assert not missing, "operations without a line in EXPECTED (seen: roles let through):\n" \
        + "\n".join(f'    "{k}": "{v}",' for k, v in missing.items())
    assert not set(EXPECTED) - set(observed), set(EXPECTED) - set(observed)
    wrong = {name: {"expected": sorted(expected(EXPECTED[name])), "got": sorted(got)}
             for name, got in observed.items() if got != expected(EXPECTED[name])}
    assert not wrong, json.dumps(wrong, indent=1)
