"""Audit finding 12: docs, schema and metrics private in production; websockets check Origin;
a site manager cannot switch off their own site, and a switched-off site issues nothing."""

from __future__ import annotations

import httpx
import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from app.config import Settings
from app.main import create_app
from tests.api.test_schemathesis import without_lifespan
from tests.conftest import auth

SECRET = "a-production-secret-that-is-long-enough-0123456789"


def _client(app, ip: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(ip, 5000)),
                             base_url="http://test")


@pytest.mark.parametrize("public", [None, True])
async def test_docs_schema_and_metrics_are_private_in_production(app, public):
    prod = create_app(Settings(env="production", secret_key=SECRET, allowed_hosts=["test"],
                               public_docs=public,
                               public_metrics=public, database_url="sqlite://"))
    prod.state.session_factory = app.state.session_factory
    prod.state.bus = app.state.bus
    async with _client(prod, "203.0.113.5") as outside, _client(prod, "127.0.0.1") as local:
        for path in ("/docs", "/redoc", "/openapi.json", "/metrics"):
            r = await outside.get(path)
            assert r.status_code == (404 if public is None else 200), path
        assert (await local.get("/metrics")).status_code == 200  # the agent beside it
    async with _client(app, "203.0.113.5") as dev:  # development and tests: all public
        assert (await dev.get("/openapi.json")).status_code == 200


def test_websockets_from_another_sites_page_are_refused(app, world):
    token = app.state.token_signer.issue(world.officer_d)
    client = TestClient(without_lifespan(app))
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect(
            f"/ws/counter/{world.c1.id}?token={token}", headers={"origin": "http://evil.test"}):
        pass
    assert refused.value.code == 1008
    # The server's own pages, and clients that send no Origin, connect as before.
    with client, client.websocket_connect(f"/ws/display?site_id={world.site.id}",
                                          headers={"origin": "http://testserver"}) as ws:
        assert ws.receive_json()["type"] == "snapshot"


async def test_a_site_manager_cannot_switch_off_their_site_and_an_off_site_issues_nothing(
        api, app, world):
    manager = auth(app.state.token_signer.issue(world.manager))
    r = await api.patch(f"/api/v1/sites/{world.site.id}", headers=manager,
                        json={"is_active": False})
    assert r.status_code == 403, r.text
    admin = auth(app.state.token_signer.issue(world.admin))
    r = await api.patch(f"/api/v1/sites/{world.site.id}", headers=admin,
                        json={"is_active": False})
    assert r.status_code == 200, r.text
    r = await api.post("/api/v1/tickets", json={"service_id": world.ktp.id},
                       headers=auth(world.kiosk_token))
    assert r.status_code == 401, r.text
