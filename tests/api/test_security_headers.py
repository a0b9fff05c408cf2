"""Audit finding 7: security headers on every response; HSTS only over HTTPS."""

from __future__ import annotations

import httpx


async def test_pages_and_api_carry_the_security_headers(api):
    for path in ("/login", "/api/v1/sites", "/no-such-page", "/kiosk"):
        r = await api.get(path)
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp, path
        assert "frame-ancestors 'none'" in csp
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
        assert "strict-transport-security" not in r.headers


async def test_hsts_only_over_https(app):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://mpp.test") as client:
        r = await client.get("/login")
    assert r.headers["strict-transport-security"].startswith("max-age=31536000")


async def test_docs_may_run_their_own_inline_start_script_but_nothing_from_elsewhere(api):
    r = await api.get("/docs")
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "http" not in csp
