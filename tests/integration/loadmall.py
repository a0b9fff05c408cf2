"""A mall for load and concurrency runs: 4 services, 20 counters, 20 officers, a kiosk token.

Built through the real services straight into a migrated database before (or while) a real
server runs; shared by tests/integration/test_concurrency.py and bench/issue_and_call.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa

from app.db.models import Device
from app.db.session import make_engine, make_session_factory, unit_of_work
from app.services import auth, config, tickets
from app.services.context import Ctx
from app.services.mallfile import SYSTEM

OFFICER_PASSWORD = "petugas-rahasia-123"
PREFIXES = ("A", "B", "C", "D")


@dataclass
class LoadMall:
    site_id: int
    agency_id: int
    service_ids: list[int]
    counter_ids: list[int]
    officers: list[str]  # officers[i] operates counter_ids[i]
    kiosk_tokens: list[str] = field(default_factory=list)


def build_load_mall(url: str, *, counters: int = 20, kiosks: int = 1,
                    password: str = OFFICER_PASSWORD) -> LoadMall:
    """One site, one agency with 4 open-all-hours services; every counter serves all four."""
    engine = make_engine(url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            ctx = Ctx(session=session, now=datetime.now(UTC), actor=SYSTEM)
            site = config.create_site(ctx, {"code": "beban", "name": "MPP Beban",
                                            "timezone": "Asia/Jakarta"})
            agency = config.create_agency(ctx, {"site_id": site.id, "code": "DUK",
                                                "name": "Disdukcapil"})
            services = [
                config.create_service(ctx, {"agency_id": agency.id, "code": f"S{p}",
                                            "name": f"Layanan {p}", "prefix": p,
                                            "typical_minutes": 5})
                for p in PREFIXES
            ]
            service_ids = [s.id for s in services]
            counter_ids, officers = [], []
            for n in range(1, counters + 1):
                c = config.create_counter(ctx, {"agency_id": agency.id, "name": f"Loket {n}",
                                                "number": n, "service_ids": service_ids})
                counter_ids.append(c.id)
                username = f"petugas{n:02d}"
                config.create_user(ctx, {"username": username, "password": password,
                                         "role": "officer", "agency_id": agency.id})
                officers.append(username)
            tokens = []
            for k in range(kiosks):
                token, token_hash = auth.new_device_token()
                session.add(Device(site_id=site.id, kind="kiosk", name=f"Kiosk {k + 1}",
                                   token_hash=token_hash))
                tokens.append(token)
            return LoadMall(site.id, agency.id, service_ids, counter_ids, officers, tokens)
    finally:
        engine.dispose()


def seed_waiting(url: str, service_ids: list[int], total: int) -> list[int]:
    """Issue `total` waiting tickets round-robin over the services; returns their ids."""
    engine = make_engine(url)
    ids: list[int] = []
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            ctx = Ctx(session=session, now=datetime.now(UTC), actor=SYSTEM)
            for i in range(total):
                issued = tickets.issue_ticket(ctx, service_id=service_ids[i % len(service_ids)],
                                              channel="seed")
                ids.append(issued.ticket.id)
        return ids
    finally:
        engine.dispose()


def scalar_rows(url: str, stmt: sa.Executable) -> list[tuple]:
    """Run one read query on a fresh engine (the server owns its own pool)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(stmt)]
    finally:
        engine.dispose()
