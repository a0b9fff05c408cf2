"""Every page under the Content-Security-Policy in Chromium: no violation anywhere.

A page that still runs an inline script or handler, loads a style attribute, or fetches from
another origin shows up here as a `securitypolicyviolation` event.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.web.admin_pages import SECTIONS
from tests.conftest import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("csp")]

# Recorded from the first script that runs on each page, before the page's own scripts.
WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


def _visit(page: Any, url: str) -> list[str]:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)  # late script work (websocket snapshots drawing)
    return list(page.evaluate("window.__csp"))


@pytest.mark.parametrize("backend", ["sqlite"])  # the policy has nothing to do with the database
def test_no_page_violates_the_content_security_policy(demo_server: Any, browser: Any) -> None:
    base = demo_server.url
    admin = {"Authorization": f"Bearer {demo_server.token('admin', DEMO_PASSWORD)}"}
    site = httpx.get(f"{base}/api/v1/sites", headers=admin).json()[0]
    service = httpx.get(f"{base}/api/v1/services", headers=admin).json()[0]
    kiosk = httpx.post(f"{base}/api/v1/devices", headers=admin, json={
        "site_id": site["id"], "kind": "kiosk", "name": "Kios CSP"}).json()["token"]
    ticket = httpx.post(f"{base}/api/v1/tickets", json={"service_id": service["id"]},
                        headers={"Authorization": f"Bearer {kiosk}"}).json()
    counter = httpx.get(f"{base}/api/v1/counters", headers=admin).json()[0]["id"]

    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=False)
    context.add_init_script(WATCH)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text)
            if "Content Security Policy" in m.text else None)
    public = ["/", "/login", "/kiosk", f"/kiosk/{site['code']}", "/display", f"/display?site_id={site['id']}", "/booking",
              f"/t/{ticket['tracking_code']}", f"/survey/{ticket['tracking_code']}"]
    docs = [p for p in ("/docs", "/redoc") if "cdn." not in httpx.get(base + p).text]
    if len(docs) < 2:
        # Until the docs serve Swagger UI and ReDoc from the server itself, the policy blocks
        # their CDN files (as it should); the page is checked as soon as it is offline.
        print(f"docs pages still on a CDN, not checked: {sorted({'/docs', '/redoc'} - set(docs))}")
    public += docs
    found: dict[str, list[str]] = {}
    for path in public:
        if v := _visit(page, base + path):
            found[path] = v
    page.goto(f"{base}/login?next=/dashboard")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/dashboard")
    staff = ["/dashboard", "/dashboard/reports", "/dashboard/ikm", "/counter",
             f"/counter/{counter}", f"/survey?counter={counter}", "/kiosk/checkin",
             *[f"/admin/{s}" for s in SECTIONS]]
    for path in staff:
        if v := _visit(page, base + path):
            found[path] = v
    context.close()
    assert not found and not errors, (found, errors)
    r = httpx.get(f"{base}/dashboard", follow_redirects=False)
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "strict-transport-security" not in r.headers  # plain HTTP here
