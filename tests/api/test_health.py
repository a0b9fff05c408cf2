"""/healthz, /readyz, /metrics, request ids, allowed hosts and the 503 when the database is gone."""

from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy.orm import sessionmaker

from app.config import Settings
from app.db.session import make_engine
from app.logging_setup import JsonFormatter, RequestIdFilter, request_id_var
from tests.conftest import auth


def metric(text: str, name: str, labels: str = "") -> float | None:
    """The value of one sample in Prometheus text format (None when absent)."""
    pattern = re.escape(name) + (r"\{" + labels + r"[^}]*\}" if labels else r"(?:\{\})?") + \
        r" ([0-9.e+-]+)$"
    for line in text.splitlines():
        m = re.match(pattern, line)
        if m:
            return float(m.group(1))
    return None


async def test_healthz_needs_no_database(api, app):
    app.state.session_factory = sessionmaker(make_engine("sqlite:////nonexistent-dir/x.db"))
    r = await api.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


async def test_readyz_ok(api):
    r = await api.get("/readyz")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ok" and body["database"] is True and body["bus"] is True
    assert body["bus_backend"] == "memory"


async def test_readyz_503_when_database_unreachable(api, app):
    app.state.session_factory = sessionmaker(make_engine("sqlite:////nonexistent-dir/x.db"))
    r = await api.get("/readyz")
    assert r.status_code == 503
    assert r.json()["database"] is False and r.json()["status"] == "unavailable"
    assert r.headers["retry-after"]


async def test_readyz_503_when_bus_down(api, app):
    await app.state.bus.stop()
    r = await api.get("/readyz")
    assert r.status_code == 503 and r.json()["bus"] is False and r.json()["database"] is True
    await app.state.bus.start()


async def test_database_down_is_503_with_code(api, app):
    """A request that cannot reach the database answers 503 database_unavailable, not 500."""
    broken = make_engine("sqlite:////nonexistent-dir/x.db")
    app.state.session_factory = sessionmaker(broken, expire_on_commit=False)
    for lang, word in (("id", "basis data"), ("en", "database")):
        r = await api.get("/api/v1/catalog", headers={"Accept-Language": lang})
        assert r.status_code == 503, r.text
        err = r.json()["error"]
        assert err["code"] == "database_unavailable"
        assert word in err["message"].lower()
        assert r.headers["retry-after"]


async def test_metrics_count_tickets_calls_and_latency(api, world):
    kiosk = auth(world.kiosk_token)
    for _ in range(3):
        assert (await api.post("/api/v1/tickets", json={"service_id": world.ktp.id},
                               headers=kiosk)).status_code == 201
    r = await api.post("/api/v1/auth/token",
                       data={"username": world.officer_d.username, "password": "rahasia-123"})
    officer = auth(r.json()["access_token"])
    await api.post(f"/api/v1/counters/{world.c1.id}/open", headers=officer)
    assert (await api.post(f"/api/v1/counters/{world.c1.id}/call-next",
                           headers=officer)).status_code == 200
    r = await api.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert metric(text, "mpp_tickets_issued_total") == 3
    assert metric(text, "mpp_tickets_called_total") == 1
    count = metric(text, "mpp_request_seconds_count",
                   'method="POST",route="/api/v1/tickets",status="201"')
    assert count == 3
    assert metric(text, "mpp_bus_connected") == 1


async def test_request_id_is_echoed_or_made(api):
    r = await api.get("/healthz", headers={"X-Request-ID": "lb-abc.123"})
    assert r.headers["x-request-id"] == "lb-abc.123"
    r = await api.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"])
    # An id that could forge log lines is replaced, not logged.
    r = await api.get("/healthz", headers={"X-Request-ID": "x\" injected=1 " + "a" * 200})
    assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"])
    # Errors carry it too.
    r = await api.get("/api/v1/nope", headers={"X-Request-ID": "err-1"})
    assert r.status_code == 404 and r.headers["x-request-id"] == "err-1"


async def test_access_log_has_request_id(api, caplog):
    with caplog.at_level(logging.INFO, logger="mpp.access"):
        await api.get("/api/v1/track/nothing-here", headers={"X-Request-ID": "trace-42"})
    records = [r for r in caplog.records if r.name == "mpp.access"]
    assert records, "no access log record"
    rec = records[-1]
    assert rec.status == 404 and rec.path == "/api/v1/track/nothing-here"
    assert rec.duration_ms >= 0
    # Stamped while the request ran (the access logger carries the filter itself).
    assert rec.request_id == "trace-42"
    line = json.loads(JsonFormatter().format(rec))
    assert line["status"] == 404 and line["request_id"] == "trace-42"


def test_json_formatter_carries_request_id_and_extras():
    token = request_id_var.set("rid-7")
    try:
        rec = logging.LogRecord("mpp.x", logging.WARNING, __file__, 1, "ticket %s", ("A-001",),
                                None)
        rec.ticket_id = 5
        RequestIdFilter().filter(rec)
    finally:
        request_id_var.reset(token)
    out = json.loads(JsonFormatter().format(rec))
    assert out["message"] == "ticket A-001" and out["level"] == "WARNING"
    assert out["request_id"] == "rid-7" and out["ticket_id"] == 5
    assert out["time"].endswith("+00:00")


def test_json_logs_in_production():
    from app.logging_setup import use_json

    secret = "x" * 40
    assert use_json(Settings(env="production", secret_key=secret, allowed_hosts=["mpp.test"]))
    assert not use_json(Settings(env="development"))
    assert use_json(Settings(env="development", log_json=True))


async def test_allowed_hosts(migrated_url, session_factory, clock):
    from app.bus import EventBus
    from app.main import create_app

    app = create_app(Settings(database_url=migrated_url, env="test", bus="memory",
                              allowed_hosts=["mpp.example.go.id"]), clock=clock)
    app.state.engine = session_factory.kw["bind"]
    app.state.session_factory = session_factory
    app.state.bus = EventBus()
    await app.state.bus.start()
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport,
                                     base_url="http://mpp.example.go.id") as good:
            assert (await good.get("/healthz")).status_code == 200
        async with httpx.AsyncClient(transport=transport, base_url="http://evil.test") as bad:
            r = await bad.get("/healthz")
            assert r.status_code == 400
            assert r.headers.get("x-request-id")
    finally:
        await app.state.bus.stop()


# --- several workers on PostgreSQL ----------------------------------------------------------


@pytest.mark.slow
def test_metrics_are_summed_over_workers(backend, tmp_path: Path):
    """Two workers, one scrape: counts and websocket clients of both workers are in it."""
    if backend != "postgresql":
        pytest.skip("several workers need PostgreSQL")
    import websockets.sync.client as wsc

    from tests.support.databases import create_database, drop_database
    from tests.support.live import prepare_database, start_server

    url = create_database(backend, tmp_path)
    prepare_database(url, demo=True, passwords={"admin": "demo-rahasia-123"})
    metrics_dir = tmp_path / "prom"
    metrics_dir.mkdir()
    server = start_server(url, workers=2, log_path=tmp_path / "server.log",
                          PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
    sockets = []
    try:
        token = server.token("admin", "demo-rahasia-123")
        with httpx.Client(base_url=server.url, timeout=30) as c:
            site = c.get("/api/v1/sites", headers=auth(token)).json()[0]
            services = c.get("/api/v1/services", headers=auth(token),
                             params={"site_id": site["id"]}).json()
            # New connections spread over both workers; issue through several.
            for i in range(8):
                with httpx.Client(base_url=server.url, timeout=30) as fresh:
                    r = fresh.post("/api/v1/tickets", json={"service_id": services[i % 3]["id"]},
                                   headers=auth(token))
                    assert r.status_code == 201, r.text
            ws_url = server.url.replace("http", "ws") + f"/ws/display?site_id={site['id']}"
            for _ in range(4):
                ws = wsc.connect(ws_url, open_timeout=10)
                assert json.loads(ws.recv(timeout=10))["type"] == "snapshot"
                sockets.append(ws)
            deadline = time.monotonic() + 20
            while True:
                with httpx.Client(base_url=server.url, timeout=30) as fresh:
                    text = fresh.get("/metrics").text
                done = (metric(text, "mpp_tickets_issued_total") == 8
                        and metric(text, "mpp_websocket_clients", 'kind="display"') == 4
                        and metric(text, "mpp_workers") == 2)
                if done or time.monotonic() > deadline:
                    break
                time.sleep(0.3)
            assert metric(text, "mpp_tickets_issued_total") == 8, text
            assert metric(text, "mpp_websocket_clients", 'kind="display"') == 4, text
            assert metric(text, "mpp_workers") == 2
            assert list(metrics_dir.glob("*.db")), "workers wrote no metric files"
    finally:
        for ws in sockets:
            ws.close()
        server.stop()
        drop_database(url)


def test_production_checklist_warnings():
    from app.logging_setup import production_warnings

    secret = "s" * 40
    loose = Settings(env="production", secret_key=secret, allowed_hosts=["*"],
                     database_url="sqlite:///x.db")
    warnings = " ".join(production_warnings(loose))
    assert "MPP_SECURE_COOKIES" in warnings and "MPP_ALLOWED_HOSTS" in warnings
    assert "SQLite" in warnings
    tight = Settings(env="production", secret_key=secret, secure_cookies=True,
                     allowed_hosts=["antrean.example.go.id"],
                     database_url="postgresql+psycopg://u@db/mpp")
    assert production_warnings(tight) == []
    assert production_warnings(Settings(env="development")) == []
    # Secrets are required: production refuses the default and short keys.
    with pytest.raises(ValueError, match="MPP_SECRET_KEY"):
        Settings(env="production")
    with pytest.raises(ValueError, match="MPP_SECRET_KEY"):
        Settings(env="production", secret_key="short")


def test_production_needs_its_host_names():
    """Links in citizens' messages are built from the Host header: production names its hosts."""
    secret = "s" * 40
    with pytest.raises(ValueError, match="MPP_ALLOWED_HOSTS"):
        Settings(env="production", secret_key=secret)
    derived = Settings(env="production", secret_key=secret,
                       public_url="https://antrean.kota.go.id/")
    assert derived.allowed_hosts == ["antrean.kota.go.id"]
    assert Settings(env="development").allowed_hosts == ["*"]


def test_real_server_writes_json_logs_with_request_ids(backend, tmp_path: Path):
    """`uvicorn app.asgi:app` in production: one JSON object per line, with our request id."""
    if backend != "sqlite":
        pytest.skip("the log format does not depend on the database")
    from tests.support.databases import create_database
    from tests.support.live import prepare_database, start_server

    url = create_database(backend, tmp_path)
    prepare_database(url)
    log_path = tmp_path / "server.log"
    server = start_server(url, log_path=log_path, MPP_ENV="production", MPP_LOG_LEVEL="INFO",
                          MPP_ALLOWED_HOSTS='["antrean.example.go.id"]')
    try:
        r = httpx.get(f"{server.url}/api/v1/track/nope", headers={"X-Request-ID": "probe-123"})
        assert r.status_code == 404 and r.headers["x-request-id"] == "probe-123"
        # Allowed hosts are enforced; local probes still pass.
        assert httpx.get(f"{server.url}/healthz", headers={"Host": "evil.test"}).status_code == 400
        assert httpx.get(f"{server.url}/healthz").status_code == 200
        # Credentials in query strings (websockets cannot send headers) never reach the log.
        httpx.get(f"{server.url}/api/v1/track/nope?token=leak-probe-1&x=1")
        from websockets.sync.client import connect

        ws_url = server.url.replace("http", "ws") + "/ws/display?site_id=1&token=leak-probe-2"
        try:
            with connect(ws_url, open_timeout=10) as ws:
                ws.recv(timeout=10)
        except Exception:  # noqa: BLE001, S110 - refused or closed: only the log matters
            pass
    finally:
        server.stop()
    text = log_path.read_text()
    assert "leak-probe" not in text, [x for x in text.splitlines() if "leak-probe" in x]
    assert "/ws/display" in text  # the websocket was logged, with its token blanked
    records = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert records, log_path.read_text()[:2000]
    access = [x for x in records if x.get("request_id") == "probe-123"]
    assert access and access[0]["logger"] == "mpp.access" and access[0]["status"] == 404
    assert access[0]["path"] == "/api/v1/track/nope" and "duration_ms" in access[0]
    # The production checklist warned about the insecure cookie setting.
    assert any("MPP_SECURE_COOKIES" in x["message"] for x in records)


def test_board_websocket_when_database_down_says_so(app, world):
    """A board connecting while the database is away hears "try again later", not a 500."""
    from starlette.testclient import TestClient

    app.state.session_factory = sessionmaker(make_engine("sqlite:////nonexistent-dir/x.db"))
    client = TestClient(app)
    with client.websocket_connect(f"/ws/display?site_id={world.site.id}") as ws:
        msg = ws.receive_json()
        assert msg["type"] == "error" and msg["error"]["code"] == "database_unavailable"
