"""The messaging provider fails for a while (HTTP 500), then recovers: every message is
delivered exactly once, and the queue's own requests are as fast as without the outage.

A real server on loopback (its relay is the one every deployment runs) and the WhatsApp
stand-in; the same load of kiosk issues (each with an opt-in phone, so each writes a message)
and calls, once with a healthy provider and once during the outage. Prints the p99 of both.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.db.models import Counter, Device, OutboxMessage, Service, Site, counter_service
from app.db.session import make_engine
from app.services.auth import new_device_token
from tests.conftest import DEMO_PASSWORD
from tests.support.databases import create_database, drop_database
from tests.support.providers import WhatsAppStandIn

ROOT = Path(__file__).resolve().parents[2]
PER_PHASE = 40
WARM_UP = 10
# Each refused attempt takes this long: a queue that waited for the provider would show it.
FAIL_DELAY = 0.5


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98]


@pytest.fixture
def setup(backend, tmp_path):
    from tests.support.live import prepare_demo, start_server

    whatsapp = WhatsAppStandIn().start()
    url = create_database(backend, tmp_path)
    prepare_demo(url)
    engine = make_engine(url)
    token, token_hash = new_device_token()
    with Session(engine) as s:
        site = s.scalar(sa.select(Site).where(Site.code == "mpp-contoh"))
        s.add(Device(site_id=site.id, kind="kiosk", name="Kiosk outage", token_hash=token_hash))
        ktp = s.scalar(sa.select(Service.id).where(Service.site_id == site.id,
                                                   Service.name == "Perekaman KTP-el"))
        # No daily quota: the load is larger than the demo's.
        s.execute(sa.update(Service).where(Service.id == ktp)
                  .values(daily_quota=None, booking_enabled=False))
        counter = s.scalar(sa.select(Counter.id).join(
            counter_service, counter_service.c.counter_id == Counter.id)
            .where(counter_service.c.service_id == ktp).order_by(Counter.number).limit(1))
        s.commit()
    server = start_server(url, log_path=tmp_path / "server.log", MPP_OUTBOX_POLL_SECONDS="0.2",
                          MPP_OUTBOX_RETRY_BASE_SECONDS="0.5", MPP_OUTBOX_RETRY_CAP_SECONDS="2",
                          MPP_OUTBOX_MAX_ATTEMPTS="100", **whatsapp.settings())
    try:
        yield server, whatsapp, engine, token, ktp, counter
    finally:
        server.stop()
        whatsapp.stop()
        engine.dispose()
        drop_database(url)


def _phase(client, server, kiosk, officer, ktp, counter, first_phone, n=PER_PHASE):
    """n issues (each with a phone) and as many calls; their latencies in ms."""
    issues, calls = [], []
    for i in range(n):
        t0 = time.perf_counter()
        r = client.post(f"{server.url}/api/v1/tickets", headers=kiosk,
                        json={"service_id": ktp, "contact": {
                            "phone": f"0812{first_phone + i:08d}", "consent": True}})
        issues.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 201, r.text
    for _ in range(n):
        t0 = time.perf_counter()
        r = client.post(f"{server.url}/api/v1/counters/{counter}/call-next", headers=officer)
        calls.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, r.text
        client.post(f"{server.url}/api/v1/tickets/{r.json()['id']}/start", headers=officer)
    return issues, calls


def _outbox(engine):
    with engine.connect() as conn:
        return conn.execute(sa.select(OutboxMessage.key, OutboxMessage.status,
                                      OutboxMessage.attempts)).all()


def _wait_all_sent(engine, timeout=90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = _outbox(engine)
        if rows and all(r.status == "sent" for r in rows):
            return rows
        time.sleep(0.25)
    raise AssertionError(f"not all sent: {[r for r in _outbox(engine) if r.status != 'sent']}")


def test_provider_outage_delays_messages_not_the_queue(setup):
    server, whatsapp, engine, token, ktp, counter = setup
    kiosk = {"Authorization": f"Bearer {token}"}
    officer = {"Authorization": f"Bearer {server.token('petugas_dukcapil', DEMO_PASSWORD)}"}
    with httpx.Client(timeout=30) as client:
        assert client.post(f"{server.url}/api/v1/counters/{counter}/open",
                           headers=officer).status_code == 200
        # Warm-up (connections, prepared statements), not measured.
        _phase(client, server, kiosk, officer, ktp, counter, 90_000_000, n=WARM_UP)
        _wait_all_sent(engine)
        issues_ok, calls_ok = _phase(client, server, kiosk, officer, ktp, counter, 1)
        _wait_all_sent(engine)

        whatsapp.fail_delay = FAIL_DELAY
        whatsapp.fail_status = 500
        outage_start = len(whatsapp.requests)
        issues_down, calls_down = _phase(client, server, kiosk, officer, ktp, counter, 10_000)
        time.sleep(2)  # the relay keeps retrying against the failing provider meanwhile
        failed_attempts = sum(1 for r in whatsapp.requests[outage_start:] if r.status == 500)
        whatsapp.fail_status = None
        rows = _wait_all_sent(engine)

    # Every message of every phase went out, each exactly once.
    keys = {r.key for r in rows}
    assert len(keys) == len(rows)
    for kind in ("ticket_taken", "ticket_called"):  # (and "a few ahead", "done")
        assert sum(1 for k in keys if k.startswith(kind + ":")) == 2 * PER_PHASE + WARM_UP
    assert set(whatsapp.delivered) == keys
    assert whatsapp.duplicates == 0
    assert failed_attempts >= 3  # the outage was real: refused attempts were retried
    retried = [r for r in rows if r.attempts > 1]
    assert retried, "no message needed a retry"

    figures = {
        "issue p99 ms": (p99(issues_ok), p99(issues_down)),
        "call p99 ms": (p99(calls_ok), p99(calls_down)),
        "issue median ms": (statistics.median(issues_ok), statistics.median(issues_down)),
    }
    print(f"\nprovider outage ({PER_PHASE} issues + {PER_PHASE} calls per phase; "
          f"{failed_attempts} attempts refused with 500, {len(retried)} messages retried):")
    for name, (ok, down) in figures.items():
        print(f"  {name}: healthy {ok:.1f}, outage {down:.1f}")
    # The queue does not wait for the provider: a request that did would take a refused
    # attempt's FAIL_DELAY more. The margin is for a loaded shared box, not for the provider.
    for name in ("issue p99 ms", "call p99 ms"):
        ok, down = figures[name]
        assert down < ok + FAIL_DELAY * 1000 * 0.8, f"{name}: {down:.1f} ms vs {ok:.1f} ms"
