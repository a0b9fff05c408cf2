"""Admin API: devices and their tokens, special days, the audit log, retention, and the
configuration forms' validation and scope rules (what the /admin page shows next to a field)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app.db.models import AuditLog, Device
from tests.conftest import auth
from tests.support.world import PASSWORD


async def login(api, username: str, password: str = PASSWORD) -> dict[str, str]:
    r = await api.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return auth(r.json()["access_token"])


async def agency_manager(api, world, admin) -> dict[str, str]:
    """A manager of Dukcapil only (the world's manager sees the whole site)."""
    r = await api.post("/api/v1/users", headers=admin, json={
        "username": "manajer-duk", "password": PASSWORD, "role": "manager",
        "agency_id": world.dukcapil.id})
    assert r.status_code == 201, r.text
    return await login(api, "manajer-duk")


# --- devices ------------------------------------------------------------------------------------


async def test_issue_kiosk_token_once_and_revoke(api, world, session):
    admin = await login(api, world.admin.username)
    r = await api.post("/api/v1/devices", headers=admin, json={
        "site_id": world.site.id, "kind": "kiosk", "name": "Kiosk Lobi"})
    assert r.status_code == 201, r.text
    body = r.json()
    token = body["token"]
    assert token.startswith("dev_") and body["path"] == f"/kiosk?token={token}"
    assert body["url"] == f"http://test/kiosk?token={token}"
    # Only a hash is stored; listing never shows the token again.
    stored = session.get(Device, body["id"])
    assert stored is not None and token not in stored.token_hash
    listed = (await api.get("/api/v1/devices", headers=admin)).json()
    assert any(d["id"] == body["id"] for d in listed) and token not in str(listed)
    # The token works as a kiosk...
    r = await api.post("/api/v1/tickets", json={"service_id": world.ktp.id}, headers=auth(token))
    assert r.status_code == 201, r.text
    # ...until it is revoked.
    r = await api.post(f"/api/v1/devices/{body['id']}/revoke", headers=admin)
    assert r.status_code == 200 and r.json()["is_active"] is False
    r = await api.post("/api/v1/tickets", json={"service_id": world.ktp.id}, headers=auth(token))
    assert r.status_code == 401 and r.json()["error"]["code"] == "not_authenticated"
    actions = session.scalars(sa.select(AuditLog.action).where(
        AuditLog.entity == "device", AuditLog.entity_id == body["id"]).order_by(AuditLog.id)).all()
    assert actions == ["create", "revoke"]
    row = session.scalar(sa.select(AuditLog).where(AuditLog.entity == "device"))
    assert token not in str(row.changes)


async def test_display_device_url_names_its_board(api, world):
    admin = await login(api, world.admin.username)
    r = await api.post("/api/v1/boards", headers=admin, json={
        "site_id": world.site.id, "name": "Papan Lantai 1", "zone": "A"})
    assert r.status_code == 201, r.text
    board_id = r.json()["id"]
    r = await api.post("/api/v1/devices", headers=admin, json={
        "site_id": world.site.id, "kind": "display", "name": "TV Lobi", "board_id": board_id})
    assert r.status_code == 201, r.text
    assert r.json()["path"] == f"/display?board={board_id}&token={r.json()['token']}"
    # A kiosk has no board; a board of another site is refused.
    r = await api.post("/api/v1/devices", headers=admin, json={
        "site_id": world.site.id, "kind": "kiosk", "name": "K", "board_id": board_id})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_value"
    other = await api.post("/api/v1/sites", headers=admin, json={"code": "lain", "name": "Lain"})
    r = await api.post("/api/v1/devices", headers=admin, json={
        "site_id": other.json()["id"], "kind": "display", "name": "TV", "board_id": board_id})
    assert r.status_code == 422
    assert r.json()["error"]["message"].startswith("board_id: papan display harus di lokasi")


async def test_device_validation_and_roles(api, world):
    admin = await login(api, world.admin.username)
    r = await api.post("/api/v1/devices", headers=admin, json={
        "site_id": world.site.id, "kind": "printer", "name": "X"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    r = await api.post("/api/v1/devices", headers=admin, json={
        "site_id": world.site.id, "kind": "kiosk", "name": "  "})
    assert r.status_code == 422
    officer = await login(api, world.officer_d.username)
    r = await api.post("/api/v1/devices", headers=officer, json={
        "site_id": world.site.id, "kind": "kiosk", "name": "X"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    # The site's manager may issue; a manager of one agency may not (devices serve the site).
    site_manager = await login(api, world.manager.username)
    r = await api.post("/api/v1/devices", headers=site_manager, json={
        "site_id": world.site.id, "kind": "kiosk", "name": "Kiosk 2"})
    assert r.status_code == 201
    duk = await agency_manager(api, world, admin)
    r = await api.post("/api/v1/devices", headers=duk, json={
        "site_id": world.site.id, "kind": "kiosk", "name": "Kiosk 3"})
    assert r.status_code == 403
    assert (await api.post(f"/api/v1/devices/{world.kiosk.id}/revoke", headers=duk)
            ).status_code == 403
    assert (await api.get("/api/v1/devices/999999", headers=admin)).status_code == 404


# --- special days -------------------------------------------------------------------------------


async def test_closed_special_day_closes_the_kiosk(api, world, clock):
    admin = await login(api, world.admin.username)
    kiosk = auth(world.kiosk_token)
    today = clock().astimezone(__import__("zoneinfo").ZoneInfo("Asia/Jakarta")).date()
    r = await api.post(f"/api/v1/sites/{world.site.id}/special-days", headers=admin,
                       json={"day": today.isoformat(), "ranges": [], "note": "Cuti bersama"})
    assert r.status_code == 201, r.text
    assert r.json()["closed"] is True and r.json()["note"] == "Cuti bersama"
    r = await api.post("/api/v1/tickets", json={"service_id": world.ktp.id}, headers=kiosk)
    assert r.status_code == 409 and r.json()["error"]["code"] == "service_closed"
    catalog = (await api.get(f"/api/v1/catalog?site_id={world.site.id}")).json()
    assert "is_open" in str(catalog) and "'is_open': True" not in str(catalog)
    # Deleting the holiday opens the service again.
    r = await api.delete(f"/api/v1/sites/{world.site.id}/special-days/{today}", headers=admin)
    assert r.status_code == 204
    r = await api.post("/api/v1/tickets", json={"service_id": world.ktp.id}, headers=kiosk)
    assert r.status_code == 201, r.text
    r = await api.delete(f"/api/v1/sites/{world.site.id}/special-days/{today}", headers=admin)
    assert r.status_code == 404


async def test_special_hours_replace_and_validation(api, world, clock):
    admin = await login(api, world.admin.username)
    url = f"/api/v1/sites/{world.site.id}/special-days"
    day = "2026-03-02"
    r = await api.post(url, headers=admin, json={"day": day, "ranges": [["13:00", "15:00"],
                                                                     ["08:00", "12:00"]],
                                                 "note": "Jam Ramadan"})
    assert r.status_code == 201
    assert r.json()["ranges"] == [["08:00", "12:00"], ["13:00", "15:00"]]
    # Posting the same date again replaces it (200), never duplicates it.
    r = await api.post(url, headers=admin, json={"day": day, "ranges": [["08:00", "14:00"]],
                                                 "note": "Jam Ramadan"})
    assert r.status_code == 200 and r.json()["ranges"] == [["08:00", "14:00"]]
    listed = (await api.get(url, headers=admin)).json()
    assert [d["day"] for d in listed] == [day]
    for ranges, message in (
        ([["14:00", "08:00"]], "ranges: jam tutup harus setelah jam buka (14:00-08:00)"),
        ([["08:00", "12:00"], ["11:00", "13:00"]],
         "ranges: rentang 08:00-12:00 dan 11:00-13:00 tumpang tindih"),
        ([["8.00", "12:00"]], "ranges: jam '8.00' tidak valid (format HH:MM)"),
    ):
        r = await api.post(url, headers=admin, json={"day": day, "ranges": ranges})
        assert r.status_code == 422 and r.json()["error"]["message"] == message, r.text
    r = await api.post(url, headers={**admin, "Accept-Language": "en"},
                       json={"day": day, "ranges": [["14:00", "08:00"]]})
    assert r.json()["error"]["message"] == (
        "ranges: closing time must be after opening time (14:00-08:00)")
    r = await api.post(url, headers=admin, json={"day": "2026-02-30", "ranges": []})
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    # Unchanged: still the valid hours.
    assert (await api.get(url, headers=admin)).json()[0]["ranges"] == [["08:00", "14:00"]]


async def test_special_days_scope(api, world):
    admin = await login(api, world.admin.username)
    url = f"/api/v1/sites/{world.site.id}/special-days"
    duk = await agency_manager(api, world, admin)
    r = await api.post(url, headers=duk, json={"day": "2026-05-01", "ranges": []})
    assert r.status_code == 403
    officer = await login(api, world.officer_d.username)
    assert (await api.get(url, headers=officer)).status_code == 200
    assert (await api.post(url, headers=officer, json={"day": "2026-05-01"})).status_code == 403
    site_manager = await login(api, world.manager.username)
    r = await api.post(url, headers=site_manager, json={"day": "2026-05-01", "note": "Buruh"})
    assert r.status_code == 201
    assert (await api.get("/api/v1/sites/999/special-days", headers=admin)).status_code == 404
    assert (await api.post(url, json={"day": "2026-05-01"})).status_code == 401


# --- audit log ----------------------------------------------------------------------------------


async def test_audit_log_records_changes_and_sign_ins(api, world, clock):
    start = clock()
    admin = await login(api, world.admin.username)
    r = await api.patch(f"/api/v1/services/{world.ktp.id}", headers=admin,
                        json={"daily_quota": 120})
    assert r.status_code == 200
    clock.set(start + timedelta(days=2))
    await login(api, world.officer_d.username)
    r = await api.post("/api/v1/auth/token", data={"username": world.officer_d.username,
                                                   "password": "salah-sandi"})
    assert r.status_code == 401

    page = (await api.get("/api/v1/audit?entity=service&action=update", headers=admin)).json()
    assert page["total"] == 1
    item = page["items"][0]
    assert item["username"] == world.admin.username and item["entity_id"] == world.ktp.id
    assert item["changes"] == {"daily_quota": 120}
    logins = (await api.get(f"/api/v1/audit?user={world.officer_d.username}",
                            headers=admin)).json()
    assert [i["action"] for i in logins["items"]] == ["login_failed", "login"]
    # Newest first, and the date filter works on whole local days (the site's, not UTC's).
    day0 = start.astimezone(ZoneInfo("Asia/Jakarta")).date().isoformat()
    r = await api.get(f"/api/v1/audit?action=login&from={day0}&to={day0}", headers=admin)
    assert [i["username"] for i in r.json()["items"]] == [world.admin.username]
    r = await api.get("/api/v1/audit?limit=2", headers=admin)
    assert len(r.json()["items"]) == 2 and r.json()["total"] > 2
    facets = (await api.get("/api/v1/audit/facets", headers=admin)).json()
    assert "service" in facets["entities"] and "login" in facets["actions"]


async def test_audit_log_is_for_admins(api, world):
    manager = await login(api, world.manager.username)
    r = await api.get("/api/v1/audit", headers=manager)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert (await api.get("/api/v1/audit")).status_code == 401
    admin = await login(api, world.admin.username)
    assert (await api.get("/api/v1/audit?limit=0", headers=admin)).status_code == 422
    r = await api.get("/api/v1/audit?from=kemarin", headers=admin)
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"


# --- the configuration forms' rules -----------------------------------------------------------


async def test_form_validation_messages(api, world, session):
    admin = await login(api, world.admin.username)
    before = session.scalar(sa.select(sa.func.count()).select_from(AuditLog))
    new = {"agency_id": world.dukcapil.id, "code": "AKTA", "name": "Akta", "prefix": "K"}
    r = await api.post("/api/v1/services", headers=admin, json=new)
    assert r.status_code == 409 and r.json()["error"] == {
        "code": "prefix_taken",
        "message": "Prefiks 'K' sudah dipakai layanan lain di lokasi ini"}
    r = await api.post("/api/v1/services", headers=admin, json={**new, "prefix": "OB"})
    assert r.json()["error"]["message"] == (
        "prefix: jangan memakai huruf I atau O (mirip angka 1 dan 0)")
    r = await api.post("/api/v1/services", headers=admin,
                       json={**new, "prefix": "B", "daily_quota": -1})
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["loc"] == ["body", "daily_quota"]
    r = await api.post("/api/v1/services", headers=admin, json={
        **new, "prefix": "B", "opening_hours": {"mon": [["16:00", "07:30"]]}})
    assert r.status_code == 422 and r.json()["error"]["message"] == (
        "opening_hours: Senin: jam tutup harus setelah jam buka (16:00-07:30)")
    r = await api.post("/api/v1/agencies", headers=admin, json={
        "site_id": world.site.id, "code": world.imigrasi.code, "name": "X"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "code_taken"
    r = await api.post("/api/v1/users", headers=admin, json={
        "username": world.officer_i.username, "password": PASSWORD, "role": "officer",
        "agency_id": world.dukcapil.id})
    assert r.status_code == 409 and r.json()["error"]["code"] == "username_taken"
    # Nothing half-saved: no new rows and no audit entries from the refused forms.
    after = session.scalar(sa.select(sa.func.count()).select_from(AuditLog))
    assert after == before


async def test_manager_cannot_touch_other_agencies(api, world):
    admin = await login(api, world.admin.username)
    duk = await agency_manager(api, world, admin)
    # Own agency: allowed.
    r = await api.patch(f"/api/v1/services/{world.ktp.id}", headers=duk, json={"daily_quota": 99})
    assert r.status_code == 200
    r = await api.patch(f"/api/v1/counters/{world.c1.id}", headers=duk, json={"zone": "A2"})
    assert r.status_code == 200
    # Another agency's service, counter, agency and officers: forbidden, unchanged.
    for method, url, body in (
        ("patch", f"/api/v1/services/{world.paspor.id}", {"daily_quota": 1}),
        ("delete", f"/api/v1/services/{world.paspor.id}", None),
        ("patch", f"/api/v1/counters/{world.c3.id}", {"zone": "X"}),
        ("patch", f"/api/v1/agencies/{world.imigrasi.id}", {"name": "X"}),
        ("post", "/api/v1/services", {"agency_id": world.imigrasi.id, "code": "X",
                                      "name": "X", "prefix": "X"}),
        ("post", "/api/v1/users", {"username": "x-imi", "password": PASSWORD,
                                   "role": "officer", "agency_id": world.imigrasi.id}),
        ("patch", f"/api/v1/users/{world.officer_i.id}", {"password": "sandi-baru-123"}),
        ("post", "/api/v1/sites", {"code": "baru", "name": "Baru"}),
    ):
        kwargs = {"json": body} if body is not None else {}
        r = await getattr(api, method)(url, headers=duk, **kwargs)
        assert r.status_code == 403, (method, url, r.text)
        assert r.json()["error"]["code"] == "forbidden"
    paspor = (await api.get(f"/api/v1/services/{world.paspor.id}", headers=admin)).json()
    assert paspor["daily_quota"] == 30 and paspor["is_active"] is True
    # Lists are scoped too.
    names = [a["code"] for a in (await api.get("/api/v1/agencies", headers=duk)).json()]
    assert names == [world.dukcapil.code]


# --- retention and purge ------------------------------------------------------------------------


async def test_retention_setting_and_purge_endpoint(api, world):
    admin = await login(api, world.admin.username)
    r = await api.get("/api/v1/admin/retention", headers=admin)
    assert r.status_code == 200 and r.json()["days"] == r.json()["default_days"] == 90
    r = await api.put("/api/v1/admin/retention", headers=admin, json={"days": 0})
    assert r.status_code == 422 and r.json()["error"]["message"] == (
        "days: harus antara 1 dan 3650 hari")
    r = await api.put("/api/v1/admin/retention", headers=admin, json={"days": 30})
    assert r.status_code == 200 and r.json()["days"] == 30
    r = await api.post("/api/v1/admin/purge", headers=admin)
    assert r.status_code == 200 and r.json()["retention_days"] == 30
    assert (await api.get("/api/v1/admin/retention", headers=admin)).json()["last_run"]
    manager = await login(api, world.manager.username)
    assert (await api.post("/api/v1/admin/purge", headers=manager)).status_code == 403
    assert (await api.put("/api/v1/admin/retention", headers=manager,
                          json={"days": 5})).status_code == 403


async def test_admin_pages_need_a_staff_session(api, world):
    r = await api.get("/admin")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/admin"
    r = await api.get("/admin/audit")
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")


async def test_a_prefix_given_out_today_is_not_reused_by_another_service(api, world, session):
    """KTP gave A-001 this morning; KK may not become "A" today, or its next ticket would be
    A-001 again on the board (and a 500 from the unique number per site and day)."""
    admin = await login(api, world.admin.username)
    kiosk = auth(world.kiosk_token)
    r = await api.post("/api/v1/tickets", json={"service_id": world.ktp.id}, headers=kiosk)
    assert r.status_code == 201 and r.json()["number"] == "A-001"
    r = await api.patch(f"/api/v1/services/{world.ktp.id}", headers=admin, json={"prefix": "Q"})
    assert r.status_code == 200, r.text  # its own prefix may change: numbers go on as Q-002
    before = session.scalar(sa.select(sa.func.count()).select_from(AuditLog))
    r = await api.patch(f"/api/v1/services/{world.kk.id}", headers=admin, json={"prefix": "A"})
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "prefix_used_today"
    assert "besok" in r.json()["error"]["message"]
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditLog)) == before
    new = {"agency_id": world.dukcapil.id, "code": "AKTA", "name": "Akta", "prefix": "A"}
    r = await api.post("/api/v1/services", headers=admin, json=new)
    assert r.status_code == 409 and r.json()["error"]["code"] == "prefix_used_today"
    r = await api.post("/api/v1/tickets", json={"service_id": world.ktp.id}, headers=kiosk)
    assert r.status_code == 201 and r.json()["number"] == "Q-002"
