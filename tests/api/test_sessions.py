"""Audit findings 8 and 9: signing out ends the session on the server; a password change or a
deactivation ends every token and cookie, and closes the user's live screens at once."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
from starlette.testclient import TestClient

from app.services import config
from app.services.context import Ctx
from app.services.mallfile import SYSTEM
from tests.api.test_schemathesis import without_lifespan
from tests.conftest import auth
from tests.support.world import PASSWORD


def client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def sign_in(c: httpx.AsyncClient, username: str) -> str:
    page = await c.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = await c.post("/login", data={"username": username, "password": PASSWORD,
                                     "csrf_token": token, "next": ""})
    assert r.status_code == 303, r.text
    return c.cookies["mpp_session"]


async def test_a_copied_cookie_stops_working_after_sign_out(app, world):
    async with client(app) as browser:
        cookie = await sign_in(browser, world.manager.username)
        page = await browser.get("/dashboard")
        csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text).group(1)
        r = await browser.post("/logout", data={"csrf_token": csrf})
        assert r.status_code == 303 and r.headers["location"] == "/login"
    async with client(app) as thief:
        thief.cookies.set("mpp_session", cookie)
        r = await thief.get("/api/v1/sites")
        assert r.status_code == 401
        r = await thief.get("/dashboard")
        assert r.status_code == 303 and r.headers["location"].startswith("/login")


async def test_an_api_token_can_be_revoked(api, app, world):
    r = await api.post("/api/v1/auth/token",
                       data={"username": world.officer_d.username, "password": PASSWORD})
    token = r.json()["access_token"]
    assert (await api.get("/api/v1/services", headers=auth(token))).status_code == 200
    assert (await api.post("/api/v1/auth/logout", headers=auth(token))).status_code == 204
    r = await api.get("/api/v1/services", headers=auth(token))
    assert r.status_code == 401 and r.json()["error"]["code"] == "not_authenticated"


async def test_new_password_and_deactivation_end_tokens(api, app, world, session):
    admin = auth(app.state.token_signer.issue(world.admin))
    officer = auth(app.state.token_signer.issue(world.officer_d))
    r = await api.patch(f"/api/v1/users/{world.officer_d.id}", headers=admin,
                        json={"password": "kata-sandi-baru-yang-panjang-91"})
    assert r.status_code == 200, r.text
    assert (await api.get("/api/v1/services", headers=officer)).status_code == 401
    manager = auth(app.state.token_signer.issue(world.manager))
    r = await api.patch(f"/api/v1/users/{world.manager.id}", headers=admin,
                        json={"is_active": False})
    assert r.status_code == 200, r.text
    assert (await api.get("/api/v1/services", headers=manager)).status_code == 401


def _deactivated_while_watching(app, session, user_id: int, path: str) -> dict:
    with TestClient(without_lifespan(app)) as c, c.websocket_connect(path) as ws:
        assert ws.receive_json()["type"] == "snapshot"
        ctx = Ctx(session=session, now=datetime.now(UTC), actor=SYSTEM)
        config.update_user(ctx, user_id, {"is_active": False})
        session.commit()
        app.state.bus.publish_after_commit(ctx.outbox)
        return dict(ws.receive_json())


def test_deactivation_closes_the_officers_live_console(app, world, session):
    token = app.state.token_signer.issue(world.officer_d)
    message = _deactivated_while_watching(app, session, world.officer_d.id,
                                          f"/ws/counter/{world.c1.id}?token={token}")
    assert message["type"] == "error" and message["error"]["code"] == "not_authenticated"


def test_deactivation_closes_the_managers_live_dashboard(app, world, session):
    token = app.state.token_signer.issue(world.manager)
    message = _deactivated_while_watching(app, session, world.manager.id,
                                          f"/ws/dashboard?token={token}")
    assert message["type"] == "error" and message["error"]["code"] == "not_authenticated"
