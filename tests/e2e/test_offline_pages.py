"""Every page works on a LAN without internet: nothing is requested outside the server.

The browser refuses every request that leaves 127.0.0.1; each page of every screen (public and
staff, API docs included) is visited and must not try one, nor have a request fail.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

import httpx
import pytest

from app.web.admin_pages import SECTIONS
from tests.conftest import DEMO_PASSWORD
from tests.e2e.test_kiosk import KTP, issue, make_kiosk, services_by_name

pytestmark = pytest.mark.browser

# Page rendering does not depend on the database engine: SQLite is enough here.
SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


class Watch:
    """Blocks and records requests that leave this machine; records failed ones."""

    def __init__(self, context: Any) -> None:
        self.outside: list[str] = []
        self.failed: list[str] = []
        context.route("**/*", self._route)

    def _route(self, route: Any) -> None:
        host = urlparse(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def page(self, context: Any) -> Any:
        page = context.new_page()
        # ERR_ABORTED is the browser dropping a load when the page moves on, not a failure.
        page.on("requestfailed", lambda r: "ERR_ABORTED" not in (r.failure or "")
                and self.failed.append(f"{r.url} {r.failure}"))
        page.on("response", lambda r: r.status >= 400 and r.request.resource_type != "document"
                and self.failed.append(f"{r.url} {r.status}"))
        return page


def visit(page: Any, url: str) -> None:
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")


@SQLITE_ONLY
def test_no_page_requests_anything_outside(demo_server: Any, browser: Any) -> None:
    base = demo_server.url
    token = make_kiosk(demo_server)
    ticket = issue(demo_server, token, services_by_name(demo_server)[KTP]["id"])
    admin_h = {"Authorization": f"Bearer {demo_server.token('admin', DEMO_PASSWORD)}"}
    counter = httpx.get(f"{base}/api/v1/counters", headers=admin_h, timeout=30).json()[0]

    public = ["/", f"/kiosk?token={token}", f"/kiosk/checkin?token={token}", "/display",
              "/booking", "/t/", f"/t/{ticket['tracking_code']}", "/login", "/docs", "/redoc",
              "/skm", f"/layanan/{ticket['service_id']}", "/no-such-page"]
    staff = ["/counter", f"/counter/{counter['id']}", f"/survey?counter={counter['id']}",
             "/dashboard", "/dashboard/reports", "/dashboard/ikm", "/skm/tindak-lanjut",
             *[f"/admin/{s}" for s in SECTIONS]]

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="id-ID")
    context.set_default_timeout(20_000)
    try:
        watch = Watch(context)
        page = watch.page(context)
        for path in public:
            visit(page, base + path)
        page.goto(f"{base}/login?next=/dashboard")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", DEMO_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/dashboard")
        for path in staff:
            visit(page, base + path)
            assert "/login" not in page.url, path
        # Swagger UI really rendered from the local files (not a blank page).
        visit(page, base + "/docs")
        page.wait_for_selector(".swagger-ui .opblock", timeout=30_000)
        visit(page, base + "/redoc")
        page.wait_for_selector("redoc [role=navigation], redoc .menu-content", timeout=30_000)
        assert watch.outside == []
        assert watch.failed == []
    finally:
        context.close()


@SQLITE_ONLY
def test_browser_gets_friendly_pages(demo_server: Any, page: Any) -> None:
    base = demo_server.url
    # An unknown page: HTML for a browser, the API's JSON error for an API client.
    r = page.goto(f"{base}/no-such-page")
    assert r.status == 404
    assert page.locator("h1").inner_text() == "Halaman tidak ditemukan"
    assert page.locator("a[href='/']").count() >= 1
    api = httpx.get(f"{base}/api/v1/no-such-thing", headers={"Accept": "text/html"}, timeout=30)
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"
    # /t/ without a code is a lookup form; a code typed there opens its tracking page.
    r = page.goto(f"{base}/t/")
    assert r.status == 200 and r.headers["content-type"].startswith("text/html")
    page.fill("#code", "<script>x</script>")
    page.click("button[type=submit]")
    assert page.locator("#code-error").is_visible()
    assert page.input_value("#code") == "<script>x</script>"  # escaped, not run
    fav = httpx.get(f"{base}/favicon.ico", timeout=30)
    assert fav.status_code == 200 and fav.headers["content-type"].startswith("image/svg")
    # The front page lists every screen.
    page.goto(base + "/")
    hrefs = set(page.eval_on_selector_all("main a", "els => els.map(e => e.getAttribute('href'))"))
    for path in ("/kiosk", "/kiosk/checkin", "/display", "/booking", "/t/", "/survey",
                 "/skm", "/counter", "/dashboard", "/dashboard/reports", "/dashboard/ikm",
                 "/admin", "/docs"):
        assert path in hrefs, path
