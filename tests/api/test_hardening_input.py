"""Audit findings 4 and 6: no body over the limit is read whole; numbers JSON cannot carry, and
integers out of range, answer 4xx everywhere (JSON bodies, staff page parameters, websockets)."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import auth

BAD_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e400", str(2**64), str(-(2**70))]


def json_operations(app: Any) -> list[tuple[str, str, list[str]]]:
    """Every operation with a JSON body: (method, path with ids filled in, top-level fields)."""
    spec = app.openapi()
    schemas = spec.get("components", {}).get("schemas", {})
    out = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            content = (op.get("requestBody") or {}).get("content", {})
            if "application/json" not in content:
                continue
            schema = content["application/json"]["schema"]
            refs = [schema.get("$ref")] + [s.get("$ref") for s in schema.get("anyOf", [])]
            ref = next((r for r in refs if r), None)
            props = list(schemas[ref.rsplit("/", 1)[1]].get("properties", {})) if ref else []
            concrete = path
            for param in op.get("parameters", []):
                if param["in"] == "path":
                    concrete = concrete.replace("{" + param["name"] + "}", "1")
            out.append((method.upper(), concrete, props or ["x"]))
    return out


async def test_numbers_json_cannot_carry_answer_4xx_on_every_json_route(api, app, world):
    token = app.state.token_signer.issue(world.admin)
    operations = json_operations(app)
    assert len(operations) > 15
    failures = []
    for method, path, props in operations:
        for bad in BAD_NUMBERS:
            body = "{" + ",".join(f'"{p}": {bad}' for p in props) + "}"
            r = await api.request(method, path, content=body,
                                  headers={**auth(token), "content-type": "application/json"})
            if r.status_code >= 500 or "error" not in r.json():
                failures.append(f"{method} {path} {bad}: {r.status_code} {r.text[:120]}")
    assert not failures, "\n".join(failures)


async def test_declared_body_over_the_limit_is_refused_before_the_app_reads_it(api, world):
    r = await api.post("/api/v1/tickets", content=b"{" + b" " * (2 * 1024 * 1024) + b"}",
                       headers={**auth(world.kiosk_token), "content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"


async def test_streamed_body_is_cut_off_while_streaming(api, world):
    """200 MB without a Content-Length: refused after about the limit, not read whole."""
    sent = [0]

    async def chunks():
        for _ in range(200):
            sent[0] += 1
            yield b" " * (1024 * 1024)

    r = await api.post("/api/v1/bookings", content=chunks(),
                       headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"
    assert sent[0] <= 3, f"{sent[0]} MB were read before the refusal"


async def test_form_body_over_the_limit_is_refused(api, world):
    r = await api.post("/api/v1/auth/token",
                       data={"username": "x" * (2 * 1024 * 1024), "password": "y"})
    assert r.status_code == 413


HUGE = "9" * 25


@pytest.mark.parametrize("path", [f"/counter/{HUGE}", f"/dashboard?site_id={HUGE}",
                                  f"/dashboard/ikm?agency_id={HUGE}",
                                  "/dashboard?site_id=-1", "/dashboard?site_id=1e400"])
async def test_staff_page_parameters_out_of_range_are_4xx(api, app, world, path):
    token = app.state.token_signer.issue(world.admin)
    r = await api.get(path, headers=auth(token))
    assert 400 <= r.status_code < 500, (path, r.status_code, r.text[:200])


async def test_alert_threshold_for_a_huge_service_id_is_422(api, app, world):
    token = app.state.token_signer.issue(world.admin)
    r = await api.put("/api/v1/stats/settings/alerts", json={"services": {HUGE: 5}},
                      headers=auth(token))
    assert r.status_code == 422, r.text


@pytest.mark.parametrize("path", [f"/ws/counter/{HUGE}", f"/ws/display?site_id={HUGE}",
                                  f"/ws/display?board={HUGE}", f"/ws/dashboard?site_id={HUGE}",
                                  f"/ws/display?agency_id={HUGE}"])
def test_websocket_parameters_out_of_range_are_refused_with_an_error(app, world, path):
    token = app.state.token_signer.issue(world.admin)
    sep = "&" if "?" in path else "?"
    client = TestClient(app)  # no lifespan: the app fixture wired the test database
    with client.websocket_connect(
            f"{path}{sep}token={token}") as ws:
        message = ws.receive_json()
        assert message["type"] == "error"
        assert message["error"]["code"] in ("invalid_value", "validation_error", "not_found")


async def test_guessing_tracking_codes_is_slowed_but_polling_a_real_one_is_not(api, world):
    r = await api.post("/api/v1/tickets", json={"service_id": world.ktp.id},
                       headers=auth(world.kiosk_token))
    code = r.json()["tracking_code"]
    for _ in range(40):  # a phone polling its own ticket never counts
        assert (await api.get(f"/api/v1/track/{code}")).status_code == 200
    statuses = [(await api.get(f"/api/v1/track/tebak-{i}")).status_code for i in range(21)]
    assert statuses[:20] == [404] * 20 and statuses[20] == 429
    r = await api.post("/api/v1/surveys", json={"tracking_code": "tebak-x", "answers": [4] * 9})
    assert r.status_code == 404  # its own counter


async def test_guessing_codes_through_the_html_pages_is_slowed_too(api, world):
    """Issue 16 item 12: /t/{code} and /survey/{code} count misses like the API (same bucket
    per kind), and a refused browser gets a friendly HTML page with Retry-After."""
    r = await api.post("/api/v1/tickets", json={"service_id": world.ktp.id},
                       headers=auth(world.kiosk_token))
    code = r.json()["tracking_code"]
    for _ in range(30):  # a phone reloading its own ticket page never counts
        assert (await api.get(f"/t/{code}")).status_code == 200
    statuses = [(await api.get(f"/t/tebak-{i}")).status_code for i in range(10)]
    statuses += [(await api.get(f"/api/v1/track/tebak-api-{i}")).status_code for i in range(10)]
    assert statuses == [404] * 20
    r = await api.get("/t/tebak-lagi")
    assert r.status_code == 429 and r.headers["content-type"].startswith("text/html")
    assert int(r.headers["Retry-After"]) >= 1 and 'id="rate-limited"' in r.text
    assert "Terlalu banyak percobaan" in r.text
    r = await api.get("/t/tebak-lagi?lang=en")
    assert r.status_code == 429 and "Too many attempts" in r.text
    # The limit holds for real codes too while it lasts (the guesser cannot tell them apart).
    assert (await api.get(f"/t/{code}")).status_code == 429
    assert (await api.get(f"/api/v1/track/{code}")).status_code == 429
    # The survey page has its own bucket, shared with POST /api/v1/surveys.
    for i in range(19):
        assert (await api.get(f"/survey/tebak-{i}")).status_code == 404
    r = await api.post("/survey/tebak-x", data={f"u{i}": "4" for i in range(1, 10)})
    assert r.status_code == 404
    r = await api.get(f"/survey/{code}")
    assert r.status_code == 429 and 'id="rate-limited"' in r.text
    r = await api.post("/api/v1/surveys", json={"tracking_code": code, "answers": [4] * 9})
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"


async def test_guessing_codes_through_the_ticket_qr_image_is_slowed_too(api, world):
    """/kiosk/qr/{code}.svg answers only for a real code: its misses count with the tracking
    page's, so it is no side door for guessing."""
    r = await api.post("/api/v1/tickets", json={"service_id": world.ktp.id},
                       headers=auth(world.kiosk_token))
    code = r.json()["tracking_code"]
    for _ in range(25):  # the kiosk fetching a real ticket's QR never counts
        assert (await api.get(f"/kiosk/qr/{code}.svg")).status_code == 200
    statuses = [(await api.get(f"/kiosk/qr/tebak-{i}.svg")).status_code for i in range(20)]
    assert statuses == [404] * 20
    r = await api.get("/kiosk/qr/tebak-lagi.svg")
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
    assert (await api.get(f"/t/{code}")).status_code == 429  # one bucket with the page
