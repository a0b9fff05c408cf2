"""Races against real server processes: slot capacity, and the day quota shared with kiosks."""

from __future__ import annotations

import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from threading import Barrier
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa

from app.db.models import Booking, Device, ServiceDay, Setting, SlotCount, Ticket
from app.db.session import make_engine, make_session_factory, unit_of_work
from app.services import auth as auth_svc
from app.services import booking as svc
from app.services import config
from app.services.context import Ctx
from app.services.mallfile import SYSTEM
from tests.support.databases import create_database, drop_database
from tests.support.live import prepare_database, start_server

pytestmark = pytest.mark.slow
WORKERS = 2  # several server processes share the database


def _zone_before_22h() -> str:
    """A zone of Indonesia where today still has slots ahead (one always qualifies)."""
    for tz in ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"):
        if datetime.now(ZoneInfo(tz)).hour < 22:
            return tz
    raise AssertionError("unreachable")


def _seed(url: str, **service: Any) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            ctx = Ctx(session=session, now=datetime.now(UTC), actor=SYSTEM)
            tz = _zone_before_22h()
            site = config.create_site(ctx, {"code": "mpp-race", "name": "MPP Balapan",
                                            "timezone": tz, "address": None,
                                            "max_consecutive_priority": 3})
            agency = config.create_agency(ctx, {"site_id": site.id, "code": "DUK",
                                                "name": "Disdukcapil", "floor": "1", "zone": "A",
                                                "color": None})
            s = config.create_service(ctx, {"agency_id": agency.id, "code": "KTP",
                                             "name": "KTP-el", "prefix": "A",
                                             "booking_enabled": True, **service})
            token, token_hash = auth_svc.new_device_token()
            session.add(Device(site_id=site.id, kind="kiosk", name="Kiosk", token_hash=token_hash))
            # Every client races from 127.0.0.1: the per-IP limits would stop them first.
            session.add(Setting(key=svc.SETTING_KEY, value=asdict(svc.Policy(
                ip_read_per_minute=0, ip_create_per_hour=0, ip_lookup_per_minute=0,
                ip_create_per_minute=0, phone_create_per_day=0))))
            return {"service_id": s.id, "kiosk": token, "tz": tz}
    finally:
        engine.dispose()


@pytest.fixture
def race_db(backend: str, tmp_path: Path):
    url = create_database(backend, tmp_path)
    prepare_database(url)
    yield url
    drop_database(url)


def _count(url: str, stmt: sa.Select) -> Any:
    engine = make_engine(url)
    try:
        with unit_of_work(make_session_factory(engine), write=False) as session:
            return session.execute(stmt).all()
    finally:
        engine.dispose()


def _race(calls: list[tuple[str, str, dict[str, Any], dict[str, str]]]) -> list[httpx.Response]:
    """Fire every call at once from its own thread.

    A client told 503 (the shared test PostgreSQL ran out of connections: nothing was written)
    comes back after its Retry-After, as a real one would; every client ends with an answer.
    """
    barrier = Barrier(len(calls))

    def go(call: tuple[str, str, dict[str, Any], dict[str, str]]) -> httpx.Response:
        method, url, body, headers = call
        with httpx.Client(timeout=120) as client:
            barrier.wait()
            for _ in range(20):
                r = client.request(method, url, json=body, headers=headers)
                if r.status_code != 503:
                    break
                time.sleep(float(r.headers.get("Retry-After", "1")) * random.uniform(0.5, 1))
            return r

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(go, calls))


def test_hundred_clients_race_for_the_last_ten_places(race_db, tmp_path):
    seed = _seed(race_db, slot_minutes=30, slot_capacity=12)
    tz = ZoneInfo(seed["tz"])
    tomorrow = datetime.now(tz).date() + timedelta(days=1)
    start = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 9, 0, tzinfo=tz).isoformat()
    server = start_server(race_db, workers=WORKERS, log_path=tmp_path / "server.log")
    try:
        body = {"service_id": seed["service_id"], "slot_start": start}
        for _ in range(2):
            assert httpx.post(f"{server.url}/api/v1/bookings", json=body,
                              timeout=60).status_code == 201
        responses = _race([("POST", f"{server.url}/api/v1/bookings", body, {})] * 100)
        outcomes = Counter((r.status_code, r.json().get("error", {}).get("code"))
                           for r in responses)
        assert outcomes == {(201, None): 10, (409, "slot_full"): 90}, outcomes
        codes = {r.json()["code"] for r in responses if r.status_code == 201}
        assert len(codes) == 10
        slots = httpx.get(f"{server.url}/api/v1/booking/slots", timeout=60, params={
            "service_id": seed["service_id"], "date": tomorrow.isoformat()}).json()["slots"]
        nine = next(s for s in slots if s["start"] == start)
        assert nine["booked"] == 12 and nine["left"] == 0 and nine["available"] is False
        # One phone, twenty tries at once for another slot: one open booking per service.
        ten = start.replace("T09:00", "T10:00")
        same = {"service_id": seed["service_id"], "slot_start": ten,
                "contact": {"phone": "0812-3456-7890", "consent": True}}
        responses = _race([("POST", f"{server.url}/api/v1/bookings", same, {})] * 20)
        outcomes = Counter((r.status_code, r.json().get("error", {}).get("code"))
                           for r in responses)
        assert outcomes == {(201, None): 1, (409, "booking_already_held"): 19}, outcomes
    finally:
        server.stop()
    assert _count(race_db, sa.select(sa.func.count()).select_from(Booking)) == [(13,)]
    assert sorted(_count(race_db, sa.select(SlotCount.booked))) == [(1,), (12,)]


def test_day_quota_shared_with_kiosk_tickets_holds_under_a_race(race_db, tmp_path):
    # Q = 20 a day, B = 10 held for bookings; slots are never the limit here.
    seed = _seed(race_db, daily_quota=20, booking_quota_percent=50, slot_minutes=5,
                 slot_capacity=100)
    tz = ZoneInfo(seed["tz"])
    now = datetime.now(tz)
    # A slot later today, so bookings and walk-ins count against the same day.
    start = (now + timedelta(minutes=10)).replace(second=0, microsecond=0)
    start = start - timedelta(minutes=start.minute % 5)
    server = start_server(race_db, workers=WORKERS, log_path=tmp_path / "server.log")
    try:
        book = ("POST", f"{server.url}/api/v1/bookings",
                {"service_id": seed["service_id"], "slot_start": start.isoformat()}, {})
        kiosk = ("POST", f"{server.url}/api/v1/tickets", {"service_id": seed["service_id"]},
                 {"Authorization": f"Bearer {seed['kiosk']}"})
        assert httpx.request(*book[:2], json=book[2], timeout=60).status_code == 201
        responses = _race([book, kiosk] * 40)
    finally:
        server.stop()
    outcomes = Counter((r.request.url.path, r.status_code,
                        r.json().get("error", {}).get("code") if r.status_code >= 400 else None)
                       for r in responses)
    assert outcomes == {
        ("/api/v1/bookings", 201, None): 9,
        ("/api/v1/bookings", 409, "booking_quota_exhausted"): 31,
        ("/api/v1/tickets", 201, None): 10,
        ("/api/v1/tickets", 409, "quota_exhausted"): 30,
    }, outcomes
    assert _count(race_db, sa.select(ServiceDay.quota_used, ServiceDay.booked)) == [(20, 10)]
    assert _count(race_db, sa.select(sa.func.count()).select_from(Ticket)) == [(10,)]
    assert _count(race_db, sa.select(sa.func.count()).select_from(Booking)) == [(10,)]
