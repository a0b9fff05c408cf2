"""Configuration API: CRUD of sites, agencies, services, counters, users; scope; audit."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from app.db.models import Agency, AuditLog, Counter, Service, User
from tests.conftest import auth
from tests.support.world import World, build_world


@pytest.fixture
def tok(app: Any, world: World) -> dict[str, dict[str, str]]:
    """Authorization headers, tokens signed directly (argon2 sign-in is tested elsewhere)."""
    sign = app.state.token_signer.issue
    return {
        "admin": auth(sign(world.admin)),
        "manager": auth(sign(world.manager)),
        "officer": auth(sign(world.officer_d)),
        "kiosk": auth(world.kiosk_token),
    }


def audit_rows(session: Any, entity: str, entity_id: int) -> list[tuple[str, str | None]]:
    session.expire_all()
    return list(session.execute(
        sa.select(AuditLog.action, AuditLog.username)
        .where(AuditLog.entity == entity, AuditLog.entity_id == entity_id)
        .order_by(AuditLog.id)).tuples())


async def test_admin_crud_of_every_resource(api, world, session, tok):
    admin = tok["admin"]
    # site
    r = await api.post("/api/v1/sites", headers=admin, json={
        "code": "mpp-baru", "name": "MPP Baru", "timezone": "Asia/Makassar",
        "address": "Jl. Merdeka 1"})
    assert r.status_code == 201, r.text
    site = r.json()
    assert site["timezone"] == "Asia/Makassar" and site["is_active"]
    r = await api.patch(f"/api/v1/sites/{site['id']}", headers=admin,
                        json={"name": "MPP Baru Makassar", "timezone": "Asia/Jayapura"})
    assert r.status_code == 200 and r.json()["name"] == "MPP Baru Makassar"
    assert (await api.get(f"/api/v1/sites/{site['id']}", headers=admin)).json()["timezone"] \
        == "Asia/Jayapura"
    codes = [s["code"] for s in (await api.get("/api/v1/sites", headers=admin)).json()]
    assert codes == [world.site.code, "mpp-baru"]
    # agency
    r = await api.post("/api/v1/agencies", headers=admin, json={
        "site_id": site["id"], "code": "BPJS", "name": "BPJS Kesehatan", "floor": "1",
        "zone": "C", "color": "#00a651"})
    assert r.status_code == 201, r.text
    agency = r.json()
    r = await api.patch(f"/api/v1/agencies/{agency['id']}", headers=admin, json={"floor": "2"})
    assert r.json()["floor"] == "2" and r.json()["site_id"] == site["id"]
    # service
    r = await api.post("/api/v1/services", headers=admin, json={
        "agency_id": agency["id"], "code": "KIS", "name": "Kartu Indonesia Sehat", "prefix": "A",
        "daily_quota": 100, "typical_minutes": 7, "requirements": "KTP, KK", "fee": "Gratis",
        "completion_time": "Selesai di tempat", "product": "Kartu KIS",
        "complaints": "Kotak saran lantai 1",
        "opening_hours": {"fri": [["13:00", "15:00"], ["07:30", "11:00"]]}})
    # Prefix A is taken at the first site only: prefixes are unique per site.
    assert r.status_code == 201, r.text
    service = r.json()
    assert service["site_id"] == site["id"] and service["prefix"] == "A"
    assert service["opening_hours"] == {"fri": [["07:30", "11:00"], ["13:00", "15:00"]]}
    r = await api.patch(f"/api/v1/services/{service['id']}", headers=admin,
                        json={"daily_quota": None, "opening_hours": None, "prefix": "KS"})
    assert r.status_code == 200, r.text
    assert r.json()["daily_quota"] is None and r.json()["opening_hours"] is None
    assert r.json()["prefix"] == "KS"
    # counter
    r = await api.post("/api/v1/counters", headers=admin, json={
        "agency_id": agency["id"], "name": "Loket BPJS", "number": 21, "zone": "C",
        "service_ids": [service["id"]]})
    assert r.status_code == 201, r.text
    counter = r.json()
    assert counter["service_ids"] == [service["id"]] and not counter["is_open"]
    r = await api.patch(f"/api/v1/counters/{counter['id']}", headers=admin,
                        json={"service_ids": [], "name": "Loket 21"})
    assert r.json()["service_ids"] == [] and r.json()["name"] == "Loket 21"
    # user
    r = await api.post("/api/v1/users", headers=admin, json={
        "username": "petugas-bpjs", "password": "rahasia-bpjs-1", "full_name": "Petugas BPJS",
        "role": "officer", "agency_id": agency["id"]})
    assert r.status_code == 201, r.text
    user = r.json()
    assert "password" not in user and "password_hash" not in user
    r = await api.post("/api/v1/auth/token",
                       data={"username": "petugas-bpjs", "password": "rahasia-bpjs-1"})
    assert r.status_code == 200
    r = await api.patch(f"/api/v1/users/{user['id']}", headers=admin,
                        json={"full_name": "Ibu Petugas", "password": "sandi-baru-123"})
    assert r.status_code == 200 and r.json()["full_name"] == "Ibu Petugas"
    r = await api.post("/api/v1/auth/token",
                       data={"username": "petugas-bpjs", "password": "rahasia-bpjs-1"})
    assert r.status_code == 401

    # Every change was audited under the admin's name, and no password in clear.
    name = world.admin.username
    assert audit_rows(session, "site", site["id"]) == [("create", name), ("update", name)]
    assert audit_rows(session, "agency", agency["id"]) == [("create", name), ("update", name)]
    assert audit_rows(session, "service", service["id"]) == [("create", name), ("update", name)]
    assert audit_rows(session, "counter", counter["id"]) == [("create", name), ("update", name)]
    assert audit_rows(session, "user", user["id"])[:1] == [("create", name)]
    changes = session.scalars(sa.select(AuditLog.changes).where(
        AuditLog.entity == "user", AuditLog.entity_id == user["id"])).all()
    assert "rahasia-bpjs-1" not in str(changes) and "sandi-baru-123" not in str(changes)

    # Delete without tickets: really gone; the audit row stays.
    assert (await api.delete(f"/api/v1/counters/{counter['id']}", headers=admin)).status_code \
        == 204
    assert (await api.delete(f"/api/v1/services/{service['id']}", headers=admin)).status_code \
        == 204
    r = await api.get(f"/api/v1/services/{service['id']}", headers=admin)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert audit_rows(session, "service", service["id"])[-1] == ("delete", name)


async def test_delete_deactivates_what_tickets_refer_to(api, world, session, tok):
    admin = tok["admin"]
    r = await api.post("/api/v1/tickets", json={"service_id": world.paspor.id},
                       headers=tok["kiosk"])
    assert r.status_code == 201
    ticket_id = r.json()["id"]
    officer_i = auth((await api.post("/api/v1/auth/token", data={
        "username": world.officer_i.username, "password": "rahasia-123"})).json()["access_token"])
    await api.post(f"/api/v1/counters/{world.c3.id}/open", headers=officer_i)
    assert (await api.post(f"/api/v1/counters/{world.c3.id}/call-next",
                           headers=officer_i)).json()["id"] == ticket_id

    assert (await api.delete(f"/api/v1/services/{world.paspor.id}", headers=admin)).status_code \
        == 204
    r = await api.get(f"/api/v1/services/{world.paspor.id}", headers=admin)
    assert r.status_code == 200 and r.json()["is_active"] is False
    listed = [s["id"] for s in (await api.get("/api/v1/services", headers=admin)).json()]
    assert world.paspor.id not in listed
    listed = [s["id"] for s in (await api.get("/api/v1/services?include_inactive=true",
                                              headers=admin)).json()]
    assert world.paspor.id in listed
    # The ticket's history is intact and its tracking still works.
    r = await api.get(f"/api/v1/tickets/{ticket_id}", headers=admin)
    assert r.status_code == 200 and r.json()["status"] == "called"
    # A deactivated service takes no new tickets.
    r = await api.post("/api/v1/tickets", json={"service_id": world.paspor.id},
                       headers=tok["kiosk"])
    assert r.status_code == 409 and r.json()["error"]["code"] == "service_inactive"

    # The officer who called it is referenced by events: deactivated, not deleted.
    r = await api.delete(f"/api/v1/users/{world.officer_i.id}", headers=admin)
    assert r.status_code == 204
    session.expire_all()
    officer = session.get(User, world.officer_i.id)
    assert officer is not None and officer.is_active is False
    assert session.get(Counter, world.c3.id).officer_id is None
    r = await api.post("/api/v1/auth/token", data={"username": world.officer_i.username,
                                                    "password": "rahasia-123"})
    assert r.status_code == 401

    # Deleting an agency deactivates it with its services and counters.
    assert (await api.delete(f"/api/v1/agencies/{world.imigrasi.id}",
                             headers=admin)).status_code == 204
    session.expire_all()
    assert session.get(Agency, world.imigrasi.id).is_active is False
    assert session.get(Counter, world.c3.id).is_active is False
    assert session.get(Service, world.paspor.id) is not None
    actions = {a for a, _ in audit_rows(session, "agency", world.imigrasi.id)}
    assert "deactivate" in actions
    assert ("deactivate", world.admin.username) in audit_rows(session, "service",
                                                              world.paspor.id)


async def test_counter_deletion_deactivates(api, world, session, tok):
    r = await api.delete(f"/api/v1/counters/{world.c2.id}", headers=tok["admin"])
    assert r.status_code == 204
    session.expire_all()
    c2 = session.get(Counter, world.c2.id)
    assert c2 is not None and not c2.is_active and not c2.is_open
    listed = [c["id"] for c in (await api.get("/api/v1/counters",
                                              headers=tok["admin"])).json()]
    assert world.c2.id not in listed and world.c1.id in listed


async def test_user_without_history_is_deleted(api, world, session, tok):
    r = await api.post("/api/v1/users", headers=tok["admin"], json={
        "username": "sementara", "password": "rahasia-123", "role": "admin"})
    uid = r.json()["id"]
    assert (await api.delete(f"/api/v1/users/{uid}", headers=tok["admin"])).status_code == 204
    r = await api.get(f"/api/v1/users/{uid}", headers=tok["admin"])
    assert r.status_code == 404
    # Nobody deactivates their own account.
    r = await api.delete(f"/api/v1/users/{world.admin.id}", headers=tok["admin"])
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_value"


@pytest.fixture
def second_site(session: Any, clock: Any) -> World:
    w = build_world(session, now=clock(), site_code="mpp-dua", timezone="Asia/Makassar")
    session.commit()
    return w


async def test_manager_is_confined_to_own_site(api, world, second_site, session, tok):
    mgr = tok["manager"]
    other = second_site
    # Reads: only the own site.
    sites = [s["id"] for s in (await api.get("/api/v1/sites", headers=mgr)).json()]
    assert sites == [world.site.id]
    agencies = {a["id"] for a in (await api.get("/api/v1/agencies", headers=mgr)).json()}
    assert agencies == {world.dukcapil.id, world.imigrasi.id}
    counters = {c["id"] for c in (await api.get("/api/v1/counters", headers=mgr)).json()}
    assert counters == {world.c1.id, world.c2.id, world.c3.id}
    r = await api.get(f"/api/v1/sites/{other.site.id}", headers=mgr)
    assert r.status_code == 404
    r = await api.get(f"/api/v1/counters/{other.c1.id}", headers=mgr)
    assert r.status_code == 403
    users = {u["id"] for u in (await api.get("/api/v1/users", headers=mgr)).json()}
    assert other.officer_d.id not in users and world.officer_d.id in users

    before = session.scalar(sa.select(sa.func.count()).select_from(AuditLog))
    # Writes to the other site: refused.
    refused = [
        ("PATCH", f"/api/v1/sites/{other.site.id}", {"name": "Diambil alih"}),
        ("POST", "/api/v1/agencies", {"site_id": other.site.id, "code": "X", "name": "X"}),
        ("PATCH", f"/api/v1/agencies/{other.dukcapil.id}", {"name": "X"}),
        ("DELETE", f"/api/v1/agencies/{other.dukcapil.id}", None),
        ("POST", "/api/v1/services", {"agency_id": other.dukcapil.id, "code": "X",
                                      "name": "X", "prefix": "X"}),
        ("PATCH", f"/api/v1/services/{other.ktp.id}", {"daily_quota": 1}),
        ("DELETE", f"/api/v1/services/{other.ktp.id}", None),
        ("POST", "/api/v1/counters", {"agency_id": other.dukcapil.id, "name": "X",
                                      "number": 99}),
        ("PATCH", f"/api/v1/counters/{other.c1.id}", {"name": "X"}),
        ("DELETE", f"/api/v1/counters/{other.c1.id}", None),
        ("POST", "/api/v1/users", {"username": "penyusup", "password": "rahasia-123",
                                   "role": "officer", "agency_id": other.dukcapil.id}),
        ("PATCH", f"/api/v1/users/{other.officer_d.id}", {"full_name": "X"}),
        ("DELETE", f"/api/v1/users/{other.officer_d.id}", None),
        # Nor may a manager create admins or other managers, or new sites.
        ("POST", "/api/v1/users", {"username": "raja", "password": "rahasia-123",
                                   "role": "admin"}),
        ("POST", "/api/v1/sites", {"code": "mpp-tiga", "name": "X"}),
    ]
    for method, path, body in refused:
        r = await api.request(method, path, headers=mgr, json=body)
        assert r.status_code == 403, (method, path, r.text)
        assert r.json()["error"]["code"] == "forbidden"
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditLog)) == before
    session.expire_all()
    assert session.get(Agency, other.dukcapil.id).is_active

    # Own site: allowed.
    r = await api.post("/api/v1/agencies", headers=mgr, json={
        "site_id": world.site.id, "code": "PAJAK", "name": "Samsat"})
    assert r.status_code == 201, r.text
    r = await api.patch(f"/api/v1/services/{world.ktp.id}", headers=mgr,
                        json={"daily_quota": 80})
    assert r.status_code == 200 and r.json()["daily_quota"] == 80
    r = await api.post("/api/v1/users", headers=mgr, json={
        "username": "petugas-baru", "password": "rahasia-123", "role": "officer",
        "agency_id": world.dukcapil.id})
    assert r.status_code == 201, r.text
    assert audit_rows(session, "service", world.ktp.id)[-1] == ("update",
                                                                 world.manager.username)


async def test_officers_and_devices_cannot_configure(api, world, tok):
    for who in ("officer", "kiosk"):
        h = tok[who]
        for method, path, body in (
            ("POST", "/api/v1/sites", {"code": "x", "name": "x"}),
            ("POST", "/api/v1/agencies", {"site_id": world.site.id, "code": "X", "name": "X"}),
            ("PATCH", f"/api/v1/agencies/{world.dukcapil.id}", {"name": "X"}),
            ("PATCH", f"/api/v1/services/{world.ktp.id}", {"daily_quota": 1}),
            ("DELETE", f"/api/v1/services/{world.ktp.id}", None),
            ("POST", "/api/v1/counters", {"agency_id": world.dukcapil.id, "name": "X",
                                          "number": 9}),
            ("PATCH", f"/api/v1/counters/{world.c1.id}", {"service_ids": []}),
            ("POST", "/api/v1/users", {"username": "x1", "password": "rahasia-123",
                                       "role": "admin"}),
            ("GET", "/api/v1/users", None),
        ):
            r = await api.request(method, path, headers=h, json=body)
            assert r.status_code == 403, (who, method, path, r.text)
            assert r.json()["error"]["code"] == "forbidden"
    # Without any credentials: 401.
    r = await api.get("/api/v1/sites")
    assert r.status_code == 401 and r.json()["error"]["code"] == "not_authenticated"
    # An officer reads its own agency and its own account.
    r = await api.get(f"/api/v1/users/{world.officer_d.id}", headers=tok["officer"])
    assert r.status_code == 200
    r = await api.get(f"/api/v1/users/{world.officer_i.id}", headers=tok["officer"])
    assert r.status_code == 403
