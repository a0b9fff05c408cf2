"""Partner API keys: scoped, per site, stored hashed, shown once, rate limited, audited, revocable."""

from __future__ import annotations

import sqlalchemy as sa

from app.db.models import AuditLog
from app.db.models_integration import PartnerKey
from tests.api.test_stats_api import login
from tests.conftest import auth
from tests.support.world import build_world


async def _key(api, admin, world, **body):
    r = await api.post("/api/v1/partner-keys", headers=admin,
                       json={"site_id": world.site.id, "name": "Dasbor kota", **body})
    assert r.status_code == 201, r.text
    return r.json()


async def test_scopes_sites_and_services(api, world, session, clock):
    other = build_world(session, now=clock(), site_code="mpp-dua")
    session.commit()
    admin = await login(api, world.admin.username)
    stats = await _key(api, admin, world, scopes=["read:stats"])
    token = stats["key"]
    assert token.startswith("mpk_")
    row = session.get(PartnerKey, stats["id"])
    assert row.key_hash != token and token not in row.key_hash and row.key_prefix == token[:10]
    listed = (await api.get("/api/v1/partner-keys", headers=admin)).json()
    assert "key" not in listed[0] and listed[0]["scopes"] == ["read:stats"]

    k = auth(token)
    r = await api.get("/api/v1/stats/summary", params={"site_id": world.site.id}, headers=k)
    assert r.status_code == 200, r.text
    r = await api.get("/api/v1/stats/summary", params={"site_id": other.site.id}, headers=k)
    assert r.status_code == 403
    assert (await api.get("/api/v1/stats/ikm", headers=k)).status_code == 200
    assert (await api.post("/api/v1/tickets", json={"service_id": world.ktp.id},
                           headers=k)).status_code == 403
    assert (await api.get("/api/v1/users", headers=k)).status_code == 403
    assert (await api.get("/api/v1/partner-keys", headers=k)).status_code == 403

    issue = auth((await _key(api, admin, world, scopes=["issue:tickets"],
                             service_ids=[world.ktp.id]))["key"])
    r = await api.post("/api/v1/tickets", json={"service_id": world.ktp.id}, headers=issue)
    assert r.status_code == 201, r.text
    for service in (world.kk.id, other.ktp.id):
        r = await api.post("/api/v1/tickets", json={"service_id": service}, headers=issue)
        assert r.status_code == 403, r.text
    r = await api.post("/api/v1/tickets", headers=issue,
                       json={"service_id": world.ktp.id, "next_service_ids": [world.kk.id]})
    assert r.status_code == 403
    assert (await api.post(f"/api/v1/counters/{world.c1.id}/call-next",
                           headers=issue)).status_code == 403
    assert (await api.get("/api/v1/stats/summary", headers=issue)).status_code == 403

    # Bad input: unknown scope, issue:tickets without services, another site's service.
    for body in ({"scopes": ["write:all"]}, {"scopes": ["issue:tickets"]},
                 {"scopes": ["issue:tickets"], "service_ids": [other.ktp.id]}):
        r = await api.post("/api/v1/partner-keys", headers=admin,
                           json={"site_id": world.site.id, "name": "x", **body})
        assert r.status_code == 422, body
    manager = await login(api, world.manager.username)
    assert (await api.post("/api/v1/partner-keys", headers=manager, json={
        "site_id": world.site.id, "name": "x", "scopes": ["read:stats"]})).status_code == 403


async def test_rate_limit_audit_last_use_and_revoke(api, world, session):
    admin = await login(api, world.admin.username)
    key = await _key(api, admin, world, scopes=["read:stats"], rate_per_minute=3)
    k = auth(key["key"])
    codes = [(await api.get("/api/v1/stats/summary", headers=k)).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    listed = {x["id"]: x for x in (await api.get("/api/v1/partner-keys", headers=admin)).json()}
    mine = listed[key["id"]]
    assert mine["use_count"] == 4 and mine["last_used_at"] and mine["used_this_minute"] == 4
    assert mine["rate_per_minute"] == 3
    uses = session.scalars(sa.select(AuditLog).where(AuditLog.entity == "partner_key",
                                                     AuditLog.action == "api_use",
                                                     AuditLog.entity_id == key["id"])).all()
    assert len(uses) == 4 and uses[0].changes["path"] == "/api/v1/stats/summary"

    r = await api.delete(f"/api/v1/partner-keys/{key['id']}", headers=admin)
    assert r.status_code == 200 and r.json()["is_active"] is False
    r = await api.get("/api/v1/stats/summary", headers=k)
    assert r.status_code == 401 and r.json()["error"]["code"] == "not_authenticated"
    r = await api.get("/api/v1/stats/summary", headers=auth("mpk_not-a-real-key"))
    assert r.status_code == 401
