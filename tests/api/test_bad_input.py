"""Bad input of every kind: a 4xx with a stable error code, and the database left unchanged."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from app.db.models import Base, Ticket
from tests.conftest import auth
from tests.support.world import PASSWORD, World

MB = "x" * (512 * 1024)  # over every field limit, under MPP_MAX_BODY_BYTES
HOURS = {"mon": [["08:00", "15:00"]]}


def snapshot(session: Any) -> dict[str, list[tuple]]:
    """Every row of every table (audit log included: a refused change is not audited)."""
    session.expire_all()
    out = {}
    for table in Base.metadata.sorted_tables:
        rows = session.execute(sa.select(table)).all()
        out[table.name] = sorted(tuple(map(repr, r)) for r in rows)
    return out


async def _ticket(api: Any, w: World) -> dict[str, Any]:
    r = await api.post("/api/v1/tickets", json={"service_id": w.ktp.id},
                       headers=auth(w.kiosk_token))
    assert r.status_code == 201, r.text
    return dict(r.json())


# (name, who, method, path(world), request kwargs(world), status, code)
Case = tuple[str, str, str, Callable[[World], str], Callable[[World], dict[str, Any]], int, str]
SVC = {"code": "BARU", "name": "Layanan baru", "prefix": "Z"}
CASES: list[Case] = [
    # unknown ids and ids of the wrong type
    ("unknown service", "admin", "GET", lambda w: "/api/v1/services/999999", lambda w: {},
     404, "not_found"),
    ("unknown site", "admin", "PATCH", lambda w: "/api/v1/sites/999999",
     lambda w: {"json": {"name": "x"}}, 404, "not_found"),
    ("unknown counter", "admin", "POST", lambda w: "/api/v1/counters/999999/open", lambda w: {},
     404, "not_found"),
    ("unknown ticket", "admin", "POST", lambda w: "/api/v1/tickets/999999/finish", lambda w: {},
     404, "not_found"),
    ("unknown tracking code", "anon", "GET", lambda w: "/api/v1/track/tidak-ada", lambda w: {},
     404, "not_found"),
    ("ticket for unknown service", "kiosk", "POST", lambda w: "/api/v1/tickets",
     lambda w: {"json": {"service_id": 999999}}, 404, "not_found"),
    ("text id", "admin", "GET", lambda w: "/api/v1/services/abc", lambda w: {},
     422, "validation_error"),
    ("zero id", "admin", "GET", lambda w: "/api/v1/agencies/0", lambda w: {},
     422, "validation_error"),
    ("negative id", "admin", "DELETE", lambda w: "/api/v1/counters/-5", lambda w: {},
     422, "validation_error"),
    ("huge id", "admin", "GET", lambda w: "/api/v1/users/99999999999999999999999", lambda w: {},
     422, "validation_error"),
    ("service id as text", "kiosk", "POST", lambda w: "/api/v1/tickets",
     lambda w: {"json": {"service_id": "satu"}}, 422, "validation_error"),
    ("service id as float", "kiosk", "POST", lambda w: "/api/v1/tickets",
     lambda w: {"json": {"service_id": 1.5}}, 422, "validation_error"),
    ("service id as list", "kiosk", "POST", lambda w: "/api/v1/tickets",
     lambda w: {"json": {"service_id": [w.ktp.id]}}, 422, "validation_error"),
    ("unknown priority group", "kiosk", "POST", lambda w: "/api/v1/tickets",
     lambda w: {"json": {"service_id": w.ktp.id, "priority": "vip"}}, 422, "validation_error"),
    ("unknown field", "kiosk", "POST", lambda w: "/api/v1/tickets",
     lambda w: {"json": {"service_id": w.ktp.id, "nik": "3201"}}, 422, "validation_error"),
    # empty and half-megabyte strings
    ("empty site code", "admin", "POST", lambda w: "/api/v1/sites",
     lambda w: {"json": {"code": "", "name": "MPP"}}, 422, "validation_error"),
    ("blank agency name", "admin", "POST", lambda w: "/api/v1/agencies",
     lambda w: {"json": {"site_id": w.site.id, "code": "X", "name": "   "}},
     422, "validation_error"),
    ("huge site name", "admin", "POST", lambda w: "/api/v1/sites",
     lambda w: {"json": {"code": "besar", "name": MB}}, 422, "validation_error"),
    # a NUL character (PostgreSQL cannot store one; schemathesis found it as a 500)
    ("NUL in a site name", "admin", "POST", lambda w: "/api/v1/sites",
     lambda w: {"json": {"code": "nul", "name": "MPP\u0000Uji"}}, 422, "validation_error"),
    ("NUL in opening hours", "admin", "PATCH", lambda w: f"/api/v1/services/{w.ktp.id}",
     lambda w: {"json": {"opening_hours": {"mon": [["08:00\u0000", "15:00"]]}}}, 422,
     "validation_error"),
    ("NUL in a transfer note", "officer_d", "POST",
     lambda w: "/api/v1/tickets/999999/transfer",
     lambda w: {"json": {"service_id": w.kk.id, "note": "a\u0000b"}}, 422, "validation_error"),
    ("huge requirements", "admin", "PATCH", lambda w: f"/api/v1/services/{w.ktp.id}",
     lambda w: {"json": {"requirements": MB}}, 422, "validation_error"),
    ("huge username", "admin", "POST", lambda w: "/api/v1/users",
     lambda w: {"json": {"username": MB, "password": "rahasia-123", "role": "admin"}},
     422, "validation_error"),
    ("60 kB tracking code", "anon", "GET", lambda w: "/api/v1/track/" + "x" * 60_000,
     lambda w: {}, 422, "validation_error"),
    ("huge login", "anon", "POST", lambda w: "/api/v1/auth/token",
     lambda w: {"data": {"username": MB, "password": "x"}}, 422, "validation_error"),
    ("100 kB login", "anon", "POST", lambda w: "/api/v1/auth/token",
     lambda w: {"data": {"username": MB[:100_000], "password": "x"}}, 422, "validation_error"),
    ("long idempotency key", "kiosk", "POST", lambda w: "/api/v1/tickets",
     lambda w: {"json": {"service_id": w.ktp.id}, "headers": {"Idempotency-Key": "k" * 5000}},
     422, "validation_error"),
    # numbers out of range, clashing or malformed values
    ("negative quota", "admin", "POST", lambda w: "/api/v1/services",
     lambda w: {"json": {**SVC, "agency_id": w.dukcapil.id, "daily_quota": -1}},
     422, "validation_error"),
    ("negative quota on update", "admin", "PATCH", lambda w: f"/api/v1/services/{w.ktp.id}",
     lambda w: {"json": {"daily_quota": -10}}, 422, "validation_error"),
    ("zero typical minutes", "admin", "PATCH", lambda w: f"/api/v1/services/{w.ktp.id}",
     lambda w: {"json": {"typical_minutes": 0}}, 422, "validation_error"),
    ("clashing prefix", "admin", "POST", lambda w: "/api/v1/services",
     lambda w: {"json": {**SVC, "agency_id": w.imigrasi.id, "prefix": "A"}}, 409, "prefix_taken"),
    ("clashing prefix on update", "admin", "PATCH", lambda w: f"/api/v1/services/{w.kk.id}",
     lambda w: {"json": {"prefix": "P"}}, 409, "prefix_taken"),
    ("prefix with I", "admin", "POST", lambda w: "/api/v1/services",
     lambda w: {"json": {**SVC, "agency_id": w.dukcapil.id, "prefix": "BI"}},
     422, "invalid_value"),
    ("prefix O", "admin", "PATCH", lambda w: f"/api/v1/services/{w.kk.id}",
     lambda w: {"json": {"prefix": "O"}}, 422, "invalid_value"),
    ("lowercase prefix", "admin", "POST", lambda w: "/api/v1/services",
     lambda w: {"json": {**SVC, "agency_id": w.dukcapil.id, "prefix": "zz"}},
     422, "invalid_value"),
    ("prefix with digit", "admin", "POST", lambda w: "/api/v1/services",
     lambda w: {"json": {**SVC, "agency_id": w.dukcapil.id, "prefix": "A1"}},
     422, "invalid_value"),
    ("four-letter prefix", "admin", "POST", lambda w: "/api/v1/services",
     lambda w: {"json": {**SVC, "agency_id": w.dukcapil.id, "prefix": "ABCD"}},
     422, "validation_error"),
    ("clashing site code", "admin", "POST", lambda w: "/api/v1/sites",
     lambda w: {"json": {"code": w.site.code, "name": "Lagi"}}, 409, "code_taken"),
    ("clashing username", "admin", "POST", lambda w: "/api/v1/users",
     lambda w: {"json": {"username": w.officer_d.username, "password": "rahasia-123",
                         "role": "officer", "agency_id": w.dukcapil.id}},
     409, "username_taken"),
    ("short password", "admin", "POST", lambda w: "/api/v1/users",
     lambda w: {"json": {"username": "baru", "password": "123", "role": "admin"}},
     422, "invalid_value"),
    ("invalid time zone", "admin", "POST", lambda w: "/api/v1/sites",
     lambda w: {"json": {"code": "mars", "name": "MPP Mars", "timezone": "Mars/Olympus"}},
     422, "invalid_value"),
    ("path traversal time zone", "admin", "PATCH", lambda w: f"/api/v1/sites/{w.site.id}",
     lambda w: {"json": {"timezone": "../../etc/passwd"}}, 422, "invalid_value"),
    ("closing before opening", "admin", "PATCH", lambda w: f"/api/v1/services/{w.ktp.id}",
     lambda w: {"json": {"opening_hours": {"mon": [["16:00", "08:00"]]}}},
     422, "invalid_value"),
    ("closing equals opening", "admin", "POST", lambda w: "/api/v1/services",
     lambda w: {"json": {**SVC, "agency_id": w.dukcapil.id,
                         "opening_hours": {"tue": [["08:00", "08:00"]]}}},
     422, "invalid_value"),
    ("hour 25", "admin", "PATCH", lambda w: f"/api/v1/services/{w.ktp.id}",
     lambda w: {"json": {"opening_hours": {"mon": [["08:00", "25:00"]]}}},
     422, "invalid_value"),
    ("unknown weekday", "admin", "PATCH", lambda w: f"/api/v1/services/{w.ktp.id}",
     lambda w: {"json": {"opening_hours": {"funday": [["08:00", "12:00"]]}}},
     422, "invalid_value"),
    ("range of three", "admin", "PATCH", lambda w: f"/api/v1/services/{w.ktp.id}",
     lambda w: {"json": {"opening_hours": {"mon": [["08:00", "10:00", "12:00"]]}}},
     422, "invalid_value"),
    ("hours as text", "admin", "PATCH", lambda w: f"/api/v1/services/{w.ktp.id}",
     lambda w: {"json": {"opening_hours": "08:00-16:00"}}, 422, "validation_error"),
    # Explicit nulls for fields that cannot be empty (found by schemathesis: once a 500).
    ("null counter fields", "admin", "PATCH", lambda w: f"/api/v1/counters/{w.c1.id}",
     lambda w: {"json": {"name": "Loket", "is_active": None}}, 422, "invalid_value"),
    ("null prefix", "admin", "PATCH", lambda w: f"/api/v1/services/{w.ktp.id}",
     lambda w: {"json": {"prefix": None}}, 422, "invalid_value"),
    ("null time zone", "admin", "PATCH", lambda w: f"/api/v1/sites/{w.site.id}",
     lambda w: {"json": {"timezone": None}}, 422, "invalid_value"),
    ("null username", "admin", "PATCH", lambda w: f"/api/v1/users/{w.officer_d.id}",
     lambda w: {"json": {"username": None}}, 422, "invalid_value"),
    ("null agency name", "admin", "PATCH", lambda w: f"/api/v1/agencies/{w.dukcapil.id}",
     lambda w: {"json": {"name": None}}, 422, "invalid_value"),
    ("bad colour", "admin", "PATCH", lambda w: f"/api/v1/agencies/{w.dukcapil.id}",
     lambda w: {"json": {"color": "red; background: url(x)"}}, 422, "validation_error"),
    ("counter with unknown service", "admin", "POST", lambda w: "/api/v1/counters",
     lambda w: {"json": {"agency_id": w.dukcapil.id, "name": "Loket 9", "number": 9,
                         "service_ids": [999999]}}, 422, "invalid_value"),
    ("counter for unknown agency", "admin", "POST", lambda w: "/api/v1/counters",
     lambda w: {"json": {"agency_id": 999999, "name": "Loket 9", "number": 9}},
     404, "not_found"),
    ("service for unknown agency", "admin", "POST", lambda w: "/api/v1/services",
     lambda w: {"json": {**SVC, "agency_id": 999999}}, 404, "not_found"),
    ("officer without agency", "admin", "POST", lambda w: "/api/v1/users",
     lambda w: {"json": {"username": "petugas-x", "password": "rahasia-123",
                         "role": "officer"}}, 422, "invalid_value"),
    ("unknown role", "admin", "POST", lambda w: "/api/v1/users",
     lambda w: {"json": {"username": "root", "password": "rahasia-123", "role": "root"}},
     422, "validation_error"),
    # transitions and counters
    ("call-next on a closed counter", "officer_d", "POST",
     lambda w: f"/api/v1/counters/{w.c1.id}/call-next", lambda w: {}, 409, "counter_closed"),
    ("another agency's counter", "officer_i", "POST",
     lambda w: f"/api/v1/counters/{w.c1.id}/open", lambda w: {}, 403, "forbidden"),
    ("another agency's call-next", "officer_i", "POST",
     lambda w: f"/api/v1/counters/{w.c2.id}/call-next", lambda w: {}, 403, "forbidden"),
    ("kiosk opens a counter", "kiosk", "POST",
     lambda w: f"/api/v1/counters/{w.c1.id}/open", lambda w: {}, 403, "forbidden"),
    ("manager configures a site", "manager", "POST", lambda w: "/api/v1/sites",
     lambda w: {"json": {"code": "baru", "name": "Baru"}}, 403, "forbidden"),
    ("officer configures", "officer_d", "PATCH", lambda w: f"/api/v1/services/{w.ktp.id}",
     lambda w: {"json": {"daily_quota": 1}}, 403, "forbidden"),
    ("kiosk lists users", "kiosk", "GET", lambda w: "/api/v1/users", lambda w: {},
     403, "forbidden"),
    # authentication
    ("no token", "anon", "POST", lambda w: "/api/v1/tickets",
     lambda w: {"json": {"service_id": w.ktp.id}}, 401, "not_authenticated"),
    ("garbage token", "anon", "GET", lambda w: "/api/v1/sites",
     lambda w: {"headers": {"Authorization": "Bearer not-a-token"}}, 401, "not_authenticated"),
    ("forged device token", "anon", "POST", lambda w: "/api/v1/tickets",
     lambda w: {"json": {"service_id": w.ktp.id},
                "headers": {"Authorization": "Bearer dev_forged"}}, 401, "not_authenticated"),
    ("wrong password", "anon", "POST", lambda w: "/api/v1/auth/token",
     lambda w: {"data": {"username": w.admin.username, "password": "salah-salah"}},
     401, "invalid_credentials"),
    ("login as JSON", "anon", "POST", lambda w: "/api/v1/auth/token",
     lambda w: {"json": {"username": w.admin.username, "password": PASSWORD}},
     422, "validation_error"),
    # bodies that are not JSON or not the right JSON
    ("malformed JSON", "kiosk", "POST", lambda w: "/api/v1/tickets",
     lambda w: {"content": b'{"service_id": ', "headers": {"Content-Type": "application/json"}},
     422, "validation_error"),
    ("JSON array", "admin", "POST", lambda w: "/api/v1/sites",
     lambda w: {"json": [1, 2, 3]}, 422, "validation_error"),
    ("JSON null", "admin", "POST", lambda w: "/api/v1/agencies",
     lambda w: {"content": b"null", "headers": {"Content-Type": "application/json"}},
     422, "validation_error"),
    # Bodies that cannot even be decoded are refused by FastAPI's body reader: 400.
    ("invalid UTF-8", "admin", "POST", lambda w: "/api/v1/sites",
     lambda w: {"content": b'{"code": "\xff\xfe", "name": "x"}',
                "headers": {"Content-Type": "application/json"}}, 400, "http_error"),
    ("text/plain body", "kiosk", "POST", lambda w: "/api/v1/tickets",
     lambda w: {"content": json.dumps({"service_id": w.ktp.id}).encode(),
                "headers": {"Content-Type": "text/plain"}}, 422, "validation_error"),
    ("form body for JSON", "admin", "POST", lambda w: "/api/v1/sites",
     lambda w: {"data": {"code": "form", "name": "Form"}}, 422, "validation_error"),
    ("empty body", "kiosk", "POST", lambda w: "/api/v1/tickets",
     lambda w: {"content": b"", "headers": {"Content-Type": "application/json"}},
     422, "validation_error"),
    ("deep JSON", "admin", "PATCH", lambda w: f"/api/v1/services/{w.ktp.id}",
     lambda w: {"content": b'{"opening_hours": ' + b"[" * 5000 + b"]" * 5000 + b"}",
                "headers": {"Content-Type": "application/json"}}, 400, "http_error"),
    ("wrong method", "admin", "PUT", lambda w: f"/api/v1/sites/{w.site.id}",
     lambda w: {"json": {"name": "x"}}, 405, "method_not_allowed"),
    ("unknown path", "anon", "GET", lambda w: "/api/v1/tidak-ada", lambda w: {},
     404, "not_found"),
]


@pytest.fixture
def tokens(app: Any, world: World) -> dict[str, str]:
    """Tokens signed directly (the login itself is tested elsewhere; argon2 is slow)."""
    out = {"kiosk": world.kiosk_token}
    for who, user in (("admin", world.admin), ("manager", world.manager),
                      ("officer_d", world.officer_d), ("officer_i", world.officer_i)):
        out[who] = app.state.token_signer.issue(user)
    return out


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
async def test_bad_input_is_refused_and_changes_nothing(api, world, session, tokens, case):
    name, who, method, path, kwargs, status, code = case
    # A waiting ticket exists, so state and numbering are part of what must not change.
    await _ticket(api, world)
    before = snapshot(session)
    kw = kwargs(world)
    headers = dict(kw.pop("headers", {}))
    if who != "anon":
        headers.setdefault("Authorization", f"Bearer {tokens[who]}")
    r = await api.request(method, path(world), headers=headers, **kw)
    assert r.status_code == status, r.text[:500]
    body = r.json()
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert "Traceback" not in r.text
    # Nothing of a 1 MB input is echoed back.
    assert len(r.content) < 20_000
    after = snapshot(session)
    if name == "wrong password":
        # A failed sign-in is recorded on purpose (throttle counters, audit); nothing else.
        assert len(after["audit_log"]) == len(before["audit_log"]) + 1
        assert len(after["rate_limit_hit"]) == len(before["rate_limit_hit"]) + 2
        for table in ("audit_log", "user_account", "rate_limit_hit"):
            after[table] = before[table]
    elif name == "unknown tracking code":
        # A miss counts towards the per-address guessing limit, on purpose; nothing else.
        assert len(after["rate_limit_hit"]) == len(before["rate_limit_hit"]) + 1
        after["rate_limit_hit"] = before["rate_limit_hit"]
    assert after == before, f"{name} changed the database"


async def test_finish_a_waiting_ticket_is_invalid_and_changes_nothing(api, world, session, tokens):
    t = await _ticket(api, world)
    before = snapshot(session)
    officer = auth(tokens["officer_d"])
    for action in ("finish", "start", "no-show", "hold", "resume"):
        r = await api.post(f"/api/v1/tickets/{t['id']}/{action}", headers=officer)
        assert r.status_code == 409, (action, r.text)
        assert r.json()["error"]["code"] == "invalid_transition"
    r = await api.post(f"/api/v1/tickets/{t['id']}/transfer", json={"service_id": 999999},
                       headers=officer)
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert snapshot(session) == before


async def test_done_ticket_stays_done(api, world, session, tokens):
    t = await _ticket(api, world)
    officer = auth(tokens["officer_d"])
    await api.post(f"/api/v1/counters/{world.c1.id}/open", headers=officer)
    assert (await api.post(f"/api/v1/counters/{world.c1.id}/call-next",
                           headers=officer)).json()["id"] == t["id"]
    for action in ("start", "finish"):
        assert (await api.post(f"/api/v1/tickets/{t['id']}/{action}",
                               headers=officer)).status_code == 200
    before = snapshot(session)
    for action in ("start", "finish", "recall", "no-show", "hold"):
        r = await api.post(f"/api/v1/tickets/{t['id']}/{action}", headers=officer)
        assert r.status_code == 409, (action, r.text)
        assert r.json()["error"]["code"] == "invalid_transition"
    # Another agency's officer cannot touch it at all.
    r = await api.post(f"/api/v1/tickets/{t['id']}/recall", headers=auth(tokens["officer_i"]))
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert snapshot(session) == before


async def test_quota_and_closed_service_name_the_next_opening(api, world, session, tokens, clock):
    from datetime import UTC, datetime

    admin = auth(tokens["admin"])
    # Monday 2026-11-30 10:00 in Jakarta (03:00 UTC); the service opens Monday 08:00-15:00.
    clock.set(datetime(2026, 11, 30, 3, 0, tzinfo=UTC))
    r = await api.patch(f"/api/v1/services/{world.kk.id}",
                        json={"daily_quota": 1, "opening_hours": HOURS}, headers=admin)
    assert r.status_code == 200, r.text
    kiosk = auth(world.kiosk_token)
    assert (await api.post("/api/v1/tickets", json={"service_id": world.kk.id},
                           headers=kiosk)).status_code == 201
    before = snapshot(session)
    r = await api.post("/api/v1/tickets", json={"service_id": world.kk.id}, headers=kiosk)
    assert r.status_code == 409 and r.json()["error"]["code"] == "quota_exhausted"
    assert r.json()["error"]["next_opening"].startswith("2026-12-07T08:00")
    assert snapshot(session) == before
    # Monday 16:00 Jakarta: closed until next Monday 08:00.
    clock.set(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    r = await api.post("/api/v1/tickets", json={"service_id": world.kk.id},
                       headers={**kiosk, "Accept-Language": "en"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "service_closed"
    assert r.json()["error"]["next_opening"].startswith("2026-12-07T08:00")
    assert "closed" in r.json()["error"]["message"]
    assert snapshot(session) == before


@pytest.mark.parametrize(("lang", "expected"), [
    (None, "tidak dapat diproses"),
    ("en", "does not allow"),
    ("en-US,en;q=0.9", "does not allow"),
    ("id-ID,id;q=0.9,en;q=0.5", "tidak dapat diproses"),
])
async def test_messages_follow_accept_language(api, world, tokens, lang, expected):
    t = await _ticket(api, world)
    headers = auth(tokens["officer_d"])
    if lang:
        headers["Accept-Language"] = lang
    r = await api.post(f"/api/v1/tickets/{t['id']}/finish", headers=headers)
    assert r.json()["error"]["code"] == "invalid_transition"
    assert expected in r.json()["error"]["message"]


async def test_english_messages_for_other_codes(api, world, tokens):
    en = {"Accept-Language": "en"}
    r = await api.get("/api/v1/services/999999", headers={**auth(tokens["admin"]), **en})
    assert r.json()["error"]["message"] == "Service not found"
    r = await api.get("/api/v1/services/999999", headers=auth(tokens["admin"]))
    assert r.json()["error"]["message"] == "Layanan tidak ditemukan"
    r = await api.post("/api/v1/tickets", json={"service_id": "x"},
                       headers={**auth(world.kiosk_token), **en})
    assert r.json()["error"]["message"] == "The submitted data is invalid"
    assert r.json()["error"]["details"][0]["loc"] == ["body", "service_id"]
    r = await api.post("/api/v1/services", headers={**auth(tokens["admin"]), **en},
                       json={**SVC, "agency_id": world.dukcapil.id, "prefix": "IO"})
    assert "must not contain I or O" in r.json()["error"]["message"]


async def test_sequence_untouched_by_refused_issue(api, world, session):
    """A refused issue (quota 0) burns no number: the next accepted one is still A-002."""
    await _ticket(api, world)
    world.ktp.daily_quota = 1
    session.commit()
    r = await api.post("/api/v1/tickets", json={"service_id": world.ktp.id},
                       headers=auth(world.kiosk_token))
    assert r.json()["error"]["code"] == "quota_exhausted"
    world.ktp.daily_quota = None
    session.commit()
    r = await api.post("/api/v1/tickets", json={"service_id": world.ktp.id},
                       headers=auth(world.kiosk_token))
    assert r.json()["number"] == "A-002"
    assert session.scalar(sa.select(sa.func.count()).select_from(Ticket)) == 2


async def test_nul_in_a_form_field_is_never_a_server_error(api, world, session, backend):
    """Form fields skip the JSON models' NUL check: PostgreSQL refuses the value (422)."""
    before = snapshot(session)
    r = await api.post("/api/v1/auth/token", data={"username": "ad\x00min", "password": "x"})
    assert r.status_code == (422 if backend == "postgresql" else 401), r.text
    assert r.json()["error"]["code"] == ("validation_error" if backend == "postgresql"
                                         else "invalid_credentials")
    after = snapshot(session)
    after["rate_limit_hit"] = before["rate_limit_hit"]  # a failed sign-in counts, on purpose
    assert after == before
