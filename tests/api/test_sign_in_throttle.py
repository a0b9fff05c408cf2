"""Audit finding 2: sign-in failures slow down per (account, address) and per address; a
stranger elsewhere cannot lock an officer out; unknown usernames answer like known ones."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest

from tests.support.world import PASSWORD


def from_address(app, ip: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def token(c: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await c.post("/api/v1/auth/token", data={"username": username, "password": password})


async def form(c: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    page = await c.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return await c.post("/login", data={"username": username, "password": password,
                                        "csrf_token": csrf, "next": ""})


async def _answers(c: httpx.AsyncClient, username: str, n: int) -> list[tuple[int, str]]:
    out = []
    for _ in range(n):
        r = await token(c, username, "salah-sandi")
        out.append((r.status_code, r.json()["error"]["code"]))
    return out


async def test_a_stranger_cannot_lock_the_officer_out_from_elsewhere(app, world, clock):
    officer = world.officer_d.username
    async with from_address(app, "203.0.113.9") as stranger, \
            from_address(app, "10.0.0.5") as counter_pc:
        answers = await _answers(stranger, officer, 6)
        assert answers[:5] == [(401, "invalid_credentials")] * 5
        assert answers[5] == (429, "account_locked")
        # The stranger is held back, even with the right password...
        r = await token(stranger, officer, PASSWORD)
        assert r.status_code == 429 and 1 <= int(r.headers["Retry-After"]) <= 300
        # ...while the officer at their own counter signs in as usual, in the API and the form.
        assert (await token(counter_pc, officer, PASSWORD)).status_code == 200
        r = await form(counter_pc, officer, PASSWORD)
        assert r.status_code == 303 and r.headers["location"] == "/counter"
        # The window passes: the stranger may try again.
        clock.set(clock() + timedelta(seconds=301))
        assert (await token(stranger, officer, "salah-lagi")).status_code == 401


async def test_unknown_and_known_usernames_answer_identically(app, world):
    async with from_address(app, "198.51.100.1") as a, from_address(app, "198.51.100.2") as b:
        known = await _answers(a, world.admin.username, 7)
        unknown = await _answers(b, "tidak-ada-orangnya", 7)
    assert known == unknown
    assert known[-1] == (429, "account_locked")


async def test_one_address_cannot_try_many_accounts(app, world):
    async with from_address(app, "192.0.2.77") as c, from_address(app, "192.0.2.78") as other:
        codes = []
        for i in range(21):
            r = await token(c, f"tebakan-{i}", "salah")
            codes.append(r.status_code)
        assert codes[:20] == [401] * 20 and codes[20] == 429
        # Every account, real ones too, from that address; other addresses are untouched.
        assert (await token(c, world.admin.username, PASSWORD)).status_code == 429
        assert (await token(other, world.admin.username, PASSWORD)).status_code == 200


@pytest.mark.parametrize("ip", ["203.0.113.50"])
async def test_success_clears_the_pairs_failures(app, world, ip):
    async with from_address(app, ip) as c:
        for _ in range(4):
            assert (await token(c, world.manager.username, "salah")).status_code == 401
        assert (await token(c, world.manager.username, PASSWORD)).status_code == 200
        for _ in range(4):
            assert (await token(c, world.manager.username, "salah")).status_code == 401
        assert (await token(c, world.manager.username, PASSWORD)).status_code == 200


@pytest.mark.parametrize("password", ["password", " " * 8, "petugas-baru-1"])
async def test_weak_passwords_are_refused_on_create_and_change(api, app, world, password):
    h = {"Authorization": f"Bearer {app.state.token_signer.issue(world.admin)}"}
    r = await api.post("/api/v1/users", headers={**h, "Accept-Language": "en"}, json={
        "username": "petugas-baru-1", "password": password, "role": "officer",
        "agency_id": world.dukcapil.id})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_value", r.text
    assert "too easy to guess" in r.json()["error"]["message"] or "8 characters" in r.text
    own = world.officer_d.username if password == "petugas-baru-1" else password
    r = await api.patch(f"/api/v1/users/{world.officer_d.id}", headers=h,
                        json={"password": own})
    assert r.status_code == 422, r.text
