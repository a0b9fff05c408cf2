"""Many MPPs on one deployment: 50 sites in three time zones, each seeing only its own data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.db.models import Agency, Counter, Device, Service, Site, Ticket, User
from app.services import auth, config, passwords, tickets
from app.services.context import Ctx
from app.services.mallfile import SYSTEM
from tests.conftest import auth as bearer

ZONES = ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura")  # WIB, WITA, WIT
PASSWORD = "rahasia-123"
N_SITES = 50


@dataclass
class SiteData:
    site: Site
    agency_ids: list[int]
    service_ids: list[int]
    counter_ids: list[int]
    manager: User
    officer: User
    ticket_ids: list[int]
    kiosk_token: str
    display_token: str
    users: list[int] = field(default_factory=list)


def build_sites(session: Session, now: datetime, n: int = N_SITES) -> list[SiteData]:
    """n sites with two agencies, services, counters, a manager, an officer, devices, tickets."""
    ctx = Ctx(session=session, now=now, actor=SYSTEM)
    # One hash for everybody: argon2 on 100 users would only slow the test down.
    pw_hash = passwords.hash_password(PASSWORD)
    out = []
    for i in range(n):
        site = config.create_site(ctx, {"code": f"mpp-{i:02d}", "name": f"MPP Kota {i}",
                                        "timezone": ZONES[i % 3], "address": None,
                                        "max_consecutive_priority": 3})
        agencies, services, counters = [], [], []
        for j, prefix in enumerate(("A", "B")):
            a = config.create_agency(ctx, {"site_id": site.id, "code": f"AG{j}-{i}",
                                           "name": f"Instansi {j} kota {i}", "floor": "1",
                                           "zone": "A", "color": None})
            s = config.create_service(ctx, {"agency_id": a.id, "code": f"S{j}-{i}",
                                            "name": f"Layanan {j} kota {i}", "prefix": prefix,
                                            "typical_minutes": 5})
            c = config.create_counter(ctx, {"agency_id": a.id, "name": f"Loket {j + 1}",
                                            "number": j + 1, "zone": "A",
                                            "service_ids": [s.id]})
            agencies.append(a.id)
            services.append(s.id)
            counters.append(c.id)
        manager = User(username=f"manajer-{i:02d}", password_hash=pw_hash, role="manager",
                       site_id=site.id, full_name=f"Manajer {i}")
        officer = User(username=f"petugas-{i:02d}", password_hash=pw_hash, role="officer",
                       agency_id=agencies[0], full_name=f"Petugas {i}")
        session.add_all([manager, officer])
        kiosk_token, kiosk_hash = auth.new_device_token()
        display_token, display_hash = auth.new_device_token()
        session.add_all([
            Device(site_id=site.id, kind="kiosk", name="Kiosk", token_hash=kiosk_hash),
            Device(site_id=site.id, kind="display", name="Papan", token_hash=display_hash),
        ])
        session.flush()
        ticket_ids = [tickets.issue_ticket(ctx, service_id=sid).ticket.id for sid in services]
        out.append(SiteData(site, agencies, services, counters, manager, officer, ticket_ids,
                            kiosk_token, display_token, users=[manager.id, officer.id]))
    session.commit()
    return out


@pytest.fixture
def sites(session, clock) -> list[SiteData]:
    clock.set(datetime(2026, 11, 30, 3, 0, tzinfo=UTC))  # a Monday morning everywhere
    return build_sites(session, clock())


def route_paths(routes) -> set[str]:
    """Every path the app serves (FastAPI may nest included routers)."""
    out: set[str] = set()
    for route in routes:
        if hasattr(route, "path"):
            out.add(route.path)
        inner = getattr(route, "original_router", None) or getattr(route, "router", None)
        if inner is not None and hasattr(inner, "routes") and inner is not route:
            out |= route_paths(inner.routes)
    return out


async def token_of(api, username: str) -> dict[str, str]:
    r = await api.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return bearer(r.json()["access_token"])


def ids(r) -> set[int]:
    assert r.status_code == 200, r.text
    return {x["id"] for x in r.json()}


async def test_fifty_sites_in_three_zones(sites, session):
    assert len(sites) == N_SITES
    zones = session.execute(sa.select(Site.timezone, sa.func.count()).group_by(Site.timezone))
    assert {z: n for z, n in zones} == {"Asia/Jakarta": 17, "Asia/Makassar": 17,
                                        "Asia/Jayapura": 16}
    # Every site numbers its own services from 1: the same prefix at 50 sites, no clash.
    numbers = session.scalars(sa.select(Ticket.number).where(Ticket.service_id.in_(
        [sid for s in sites for sid in s.service_ids]))).all()
    assert sorted(set(numbers)) == ["A-001", "B-001"] and len(numbers) == 2 * N_SITES


@pytest.mark.parametrize("which", [0, 1, 2, 49])  # a WIB, a WITA, a WIT and the last site
async def test_manager_sees_nothing_of_other_sites(api, sites, which):
    me = sites[which]
    h = await token_of(api, me.manager.username)
    assert ids(await api.get("/api/v1/sites", headers=h)) == {me.site.id}
    assert ids(await api.get("/api/v1/agencies", headers=h)) == set(me.agency_ids)
    assert ids(await api.get("/api/v1/services", headers=h)) == set(me.service_ids)
    assert ids(await api.get("/api/v1/counters", headers=h)) == set(me.counter_ids)
    assert ids(await api.get("/api/v1/users", headers=h)) <= set(me.users)
    for other in sites:
        if other is me:
            continue
        oid = other.site.id
        # Filtering by another site's id gives nothing, not that site's data.
        for path in ("agencies", "services", "counters"):
            assert ids(await api.get(f"/api/v1/{path}", params={"site_id": oid}, headers=h)) \
                == set(), path
        gets = [f"/api/v1/sites/{oid}", f"/api/v1/agencies/{other.agency_ids[0]}",
                f"/api/v1/services/{other.service_ids[0]}",
                f"/api/v1/counters/{other.counter_ids[0]}",
                f"/api/v1/users/{other.manager.id}", f"/api/v1/users/{other.officer.id}",
                f"/api/v1/tickets/{other.ticket_ids[0]}"]
        for path in gets:
            r = await api.get(path, headers=h)
            assert r.status_code in (403, 404), (path, r.status_code, r.text)
            assert r.json()["error"]["code"] in ("forbidden", "not_found")
            # Nothing of the other site leaks through the error either.
            assert other.site.name not in r.text and f"kota {other.site.id}" not in r.text


async def test_officer_sees_only_own_site(api, sites):
    me, other = sites[3], sites[4]
    h = await token_of(api, me.officer.username)
    assert ids(await api.get("/api/v1/sites", headers=h)) == {me.site.id}
    # Officers see every service of their own site (to transfer), and only those.
    assert ids(await api.get("/api/v1/services", headers=h)) == set(me.service_ids)
    for path in (f"/api/v1/services/{other.service_ids[0]}",
                 f"/api/v1/tickets/{other.ticket_ids[0]}",
                 f"/api/v1/counters/{other.counter_ids[0]}"):
        assert (await api.get(path, headers=h)).status_code in (403, 404), path


async def test_manager_cannot_change_other_sites(api, sites, session):
    me, other = sites[0], sites[1]
    h = await token_of(api, me.manager.username)
    attempts = [
        ("PATCH", f"/api/v1/sites/{other.site.id}", {"name": "Direbut"}),
        ("PATCH", f"/api/v1/agencies/{other.agency_ids[0]}", {"name": "Direbut"}),
        ("PATCH", f"/api/v1/services/{other.service_ids[0]}", {"name": "Direbut"}),
        ("PATCH", f"/api/v1/counters/{other.counter_ids[0]}", {"name": "Direbut"}),
        ("PATCH", f"/api/v1/users/{other.officer.id}", {"full_name": "Direbut"}),
        ("POST", "/api/v1/agencies", {"site_id": other.site.id, "code": "X", "name": "X"}),
        ("POST", "/api/v1/services", {"agency_id": other.agency_ids[0], "code": "X",
                                      "name": "X", "prefix": "X", "typical_minutes": 5}),
        ("POST", "/api/v1/counters", {"agency_id": other.agency_ids[0], "name": "X",
                                      "number": 9, "service_ids": []}),
        ("POST", "/api/v1/users", {"username": "penyusup", "password": "rahasia-12345",
                                   "role": "officer", "agency_id": other.agency_ids[0]}),
        ("DELETE", f"/api/v1/services/{other.service_ids[0]}", None),
        ("DELETE", f"/api/v1/counters/{other.counter_ids[0]}", None),
        ("DELETE", f"/api/v1/agencies/{other.agency_ids[0]}", None),
        ("POST", f"/api/v1/counters/{other.counter_ids[0]}/open", None),
        ("POST", f"/api/v1/tickets/{other.ticket_ids[0]}/cancel", None),
        # A counter of mine may not serve another site's service.
        ("PATCH", f"/api/v1/counters/{me.counter_ids[0]}", {"service_ids": [other.service_ids[0]]}),
    ]
    for method, path, body in attempts:
        r = await api.request(method, path, json=body, headers=h)
        assert r.status_code in (403, 404, 422), (method, path, r.status_code, r.text)
    session.expire_all()
    assert session.get(Site, other.site.id).name == other.site.name
    assert session.scalar(sa.select(User).where(User.username == "penyusup")) is None
    assert session.get(Ticket, other.ticket_ids[0]).status == "waiting"
    for model in (Agency, Service, Counter, User):
        assert session.scalar(sa.select(sa.func.count()).select_from(model).where(
            (model.full_name if model is User else model.name) == "Direbut")) == 0, model
    assert session.get(Service, other.service_ids[0]).is_active


async def test_devices_and_staff_cannot_issue_at_another_site(api, sites, session):
    me, other = sites[5], sites[6]
    before = session.scalar(sa.select(sa.func.count()).select_from(Ticket))
    manager = await token_of(api, me.manager.username)
    officer = await token_of(api, me.officer.username)
    for who in (bearer(me.kiosk_token), manager, officer):
        r = await api.post("/api/v1/tickets", json={"service_id": other.service_ids[0]},
                           headers=who)
        assert r.status_code in (403, 404), r.text
    # The display device may not issue at all; its own kiosk may, at its own site.
    r = await api.post("/api/v1/tickets", json={"service_id": me.service_ids[0]},
                       headers=bearer(me.display_token))
    assert r.status_code == 403
    r = await api.post("/api/v1/tickets", json={"service_id": me.service_ids[0]},
                       headers=bearer(me.kiosk_token))
    assert r.status_code == 201 and r.json()["number"] == "A-002"
    assert session.scalar(sa.select(sa.func.count()).select_from(Ticket)) == before + 1


async def test_stats_do_not_cross_sites(api, app, sites):
    paths = route_paths(app.routes)
    if "/api/v1/stats/summary" not in paths:
        pytest.skip("no stats endpoint in this build")
    me, other = sites[7], sites[8]
    h = await token_of(api, me.manager.username)
    for path in ("/api/v1/stats/summary", "/api/v1/stats/report", "/api/v1/stats/ikm",
                 "/api/v1/stats/dashboard", "/api/v1/stats/export.csv"):
        if path not in paths:
            continue
        r = await api.get(path, params={"site_id": other.site.id}, headers=h)
        if r.status_code == 200:
            # Answered for my own scope at most: nothing of the other site in it.
            assert other.site.name not in r.text and f"kota {other.site.id}" not in r.text, path
            if path.endswith("summary"):
                assert r.json().get("issued", 0) in (0, 2), r.json()
        else:
            assert r.status_code in (403, 404), (path, r.status_code, r.text)
        # Another site's agency, named explicitly, is refused or empty too.
        r = await api.get(path, params={"agency_id": other.agency_ids[0]}, headers=h)
        assert r.status_code in (200, 403, 404), (path, r.status_code)
        if r.status_code == 200:
            assert other.site.name not in r.text and f"kota {other.site.id}" not in r.text, path
    r = await api.get("/api/v1/stats/summary", params={"site_id": me.site.id}, headers=h)
    assert r.status_code == 200, r.text


async def test_daily_numbering_follows_each_sites_zone(api, session, clock):
    """23:30 in Jakarta is already 01:30 the next day in Jayapura: only WIT starts again."""
    clock.set(datetime(2026, 11, 30, 14, 0, tzinfo=UTC))  # 21:00 WIB, 23:00 WIT
    made = build_sites(session, clock(), n=3)
    wib, wit = made[0], made[2]
    assert wib.site.timezone == "Asia/Jakarta" and wit.site.timezone == "Asia/Jayapura"
    clock.set(datetime(2026, 11, 30, 16, 30, tzinfo=UTC))  # 23:30 WIB, 01:30 WIT next day
    r1 = await api.post("/api/v1/tickets", json={"service_id": wib.service_ids[0]},
                        headers=bearer(wib.kiosk_token))
    r2 = await api.post("/api/v1/tickets", json={"service_id": wit.service_ids[0]},
                        headers=bearer(wit.kiosk_token))
    assert r1.status_code == r2.status_code == 201
    assert r1.json()["number"] == "A-002"  # the same WIB day goes on
    assert r2.json()["number"] == "A-001"  # a new WIT day
    days = dict(session.execute(sa.select(Ticket.id, Ticket.day).where(
        Ticket.id.in_([r1.json()["id"], r2.json()["id"]]))).all())
    assert str(days[r1.json()["id"]]) == "2026-11-30"
    assert str(days[r2.json()["id"]]) == "2026-12-01"
    # The WIB site's issued-at is shown with its own offset.
    assert r1.json()["issued_at"].startswith("2026-11-30T16:30")


def test_websockets_refuse_other_sites(app, sites, session):
    from starlette.testclient import TestClient

    me, other = sites[10], sites[11]
    other_site = session.get(Site, other.site.id)
    other_site.require_display_token = True
    session.commit()
    client = TestClient(app)
    signer = app.state.token_signer
    manager_token = signer.issue(me.manager)
    # A counter console of another site.
    with client.websocket_connect(f"/ws/counter/{other.counter_ids[0]}?token={manager_token}"
                                  ) as ws:
        msg = ws.receive_json()
        assert msg["type"] == "error" and msg["error"]["code"] == "forbidden"
    # A display device of site 10 on a board of site 11 that requires display tokens.
    with client.websocket_connect(f"/ws/display?site_id={other.site.id}&token={me.display_token}"
                                  ) as ws:
        msg = ws.receive_json()
        assert msg["type"] == "error" and msg["error"]["code"] == "forbidden"
    # The manager's live dashboard of another site.
    if "/ws/dashboard" in route_paths(app.routes):
        with client.websocket_connect(f"/ws/dashboard?site_id={other.site.id}"
                                      f"&token={manager_token}") as ws:
            msg = ws.receive_json()
            assert msg["type"] == "error" and msg["error"]["code"] in ("forbidden", "not_found")
    # Its own display device is welcome, and the snapshot shows that site only.
    with client.websocket_connect(
            f"/ws/display?site_id={other.site.id}&token={other.display_token}") as ws:
        snap = ws.receive_json()
        assert snap["type"] == "snapshot" and snap["site"]["id"] == other.site.id
        assert {c["id"] for c in snap["counters"]} == set(other.counter_ids)
        assert {w["service_id"] for w in snap["waiting"]} == set(other.service_ids)
