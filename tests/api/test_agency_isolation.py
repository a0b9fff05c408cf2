"""Audit finding 1: an agency's counter never serves another agency's citizens."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.db.models import Counter, Service, Ticket
from app.services import config
from app.services.context import Ctx
from app.services.mallfile import SYSTEM
from tests.conftest import auth
from tests.support.world import PASSWORD


@pytest.fixture
def agency_manager(session, world):
    ctx = Ctx(session=session, now=datetime.now(UTC), actor=SYSTEM)
    user = config.create_user(ctx, {"username": "manajer-dukcapil", "password": PASSWORD,
                                    "role": "manager", "agency_id": world.dukcapil.id})
    session.commit()
    return user


@pytest.mark.parametrize("who", ["agency_manager", "site_manager", "admin"])
async def test_a_counter_cannot_take_another_agencys_service(api, app, world, agency_manager,
                                                             who):
    user = {"agency_manager": agency_manager, "site_manager": world.manager,
            "admin": world.admin}[who]
    h = auth(app.state.token_signer.issue(user))
    r = await api.patch(f"/api/v1/counters/{world.c1.id}", headers=h,
                        json={"service_ids": [world.ktp.id, world.paspor.id]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_value", r.text
    r = await api.post("/api/v1/counters", headers=h, json={
        "agency_id": world.dukcapil.id, "name": "Loket 9", "number": 9,
        "service_ids": [world.paspor.id]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_value", r.text


async def test_moving_a_counter_rechecks_the_services_it_keeps(api, app, world):
    h = auth(app.state.token_signer.issue(world.admin))
    r = await api.patch(f"/api/v1/counters/{world.c1.id}", headers=h,
                        json={"agency_id": world.imigrasi.id})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_value", r.text


async def test_a_misconfigured_counter_does_not_let_its_officer_serve_the_other_agency(
        api, app, world, session):
    # As the audit left it: Dukcapil's counter 1 also serving Imigrasi's passports.
    counter = session.get(Counter, world.c1.id)
    counter.services = [session.get(Service, world.paspor.id)]
    session.commit()
    r = await api.post("/api/v1/tickets", json={"service_id": world.paspor.id},
                       headers=auth(world.kiosk_token))
    ticket = r.json()
    officer = auth(app.state.token_signer.issue(world.officer_d))
    assert (await api.post(f"/api/v1/counters/{world.c1.id}/open",
                           headers=officer)).status_code == 200
    r = await api.post(f"/api/v1/counters/{world.c1.id}/call-next", headers=officer)
    assert r.status_code == 403, r.text
    session.expire_all()
    assert session.get(Ticket, ticket["id"]).status == "waiting"  # the call was rolled back
    # Called properly by Imigrasi, the ticket still cannot be handled by Dukcapil's officer.
    imigrasi = auth(app.state.token_signer.issue(world.officer_i))
    await api.post(f"/api/v1/counters/{world.c3.id}/open", headers=imigrasi)
    r = await api.post(f"/api/v1/counters/{world.c3.id}/call-next", headers=imigrasi)
    assert r.status_code == 200 and r.json()["id"] == ticket["id"]
    for action in ("start", "finish", "recall", "no-show"):
        r = await api.post(f"/api/v1/tickets/{ticket['id']}/{action}", headers=officer)
        assert r.status_code == 403, (action, r.text)
