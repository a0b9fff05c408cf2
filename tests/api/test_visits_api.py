"""Visits with several services through the public API (API.md "Visits with several services")."""

from __future__ import annotations

import sqlalchemy as sa

from app.db.models import ServiceDay, Ticket, TicketEvent, VisitStep
from app.services import config
from app.services.context import Ctx
from app.services.mallfile import SYSTEM
from tests.api.test_queue_flow import login
from tests.conftest import auth


async def _serve(api, officer, counter_id: int, number: str) -> dict:
    """Open the counter (if not yet), call the next ticket (it must be `number`), serve it."""
    await api.post(f"/api/v1/counters/{counter_id}/open", headers=officer)
    r = await api.post(f"/api/v1/counters/{counter_id}/call-next", headers=officer)
    assert r.status_code == 200, r.text
    assert r.json()["number"] == number
    tid = r.json()["id"]
    assert (await api.post(f"/api/v1/tickets/{tid}/start", headers=officer)).status_code == 200
    r = await api.post(f"/api/v1/tickets/{tid}/finish", headers=officer)
    assert r.status_code == 200, r.text
    return r.json()


def _quota_used(session, service_id: int) -> int:
    return int(session.scalar(sa.select(sa.func.coalesce(sa.func.sum(ServiceDay.quota_used), 0))
                              .where(ServiceDay.service_id == service_id)))


async def test_visit_moves_across_agencies_keeping_number(api, world, session):
    kiosk = auth(world.kiosk_token)
    r = await api.post("/api/v1/tickets", headers=kiosk, json={
        "service_id": world.ktp.id, "next_service_ids": [world.paspor.id], "priority": "lansia"})
    assert r.status_code == 201, r.text
    visit = r.json()
    assert visit["number"] == "A-001"
    assert [(s["service_id"], s["agency_id"], s["status"]) for s in visit["steps"]] == [
        (world.ktp.id, world.dukcapil.id, "waiting"), (world.paspor.id, world.imigrasi.id,
                                                       "pending")]
    assert _quota_used(session, world.paspor.id) == 1  # taken at issue
    # Someone took a passport ticket later, directly.
    r = await api.post("/api/v1/tickets", headers=kiosk, json={"service_id": world.paspor.id})
    assert r.json()["number"] == "P-001"

    duk = auth(await login(api, world.officer_d.username))
    imi = auth(await login(api, world.officer_i.username))
    done = await _serve(api, duk, world.c1.id, "A-001")
    # finish answers the ticket after the move: waiting at Imigrasi, same number and code.
    assert done["id"] == visit["id"] and done["number"] == "A-001"
    assert done["status"] == "waiting" and done["service_id"] == world.paspor.id
    assert done["agency_id"] == world.imigrasi.id and done["priority"] == "lansia"
    assert done["tracking_code"] is None  # staff never see the citizen's code (issue 16)
    assert [s["status"] for s in done["steps"]] == ["done", "waiting"]
    assert _quota_used(session, world.paspor.id) == 2  # not taken twice

    track = (await api.get(f"/api/v1/track/{visit['tracking_code']}")).json()
    assert track["agency"]["name"] == "Imigrasi" and track["status"] == "waiting"
    assert [(s["service"], s["agency"], s["floor"], s["status"]) for s in track["steps"]] == [
        ("Perekaman KTP-el", "Disdukcapil", "1", "done"), ("Paspor baru", "Imigrasi", "2",
                                                          "waiting")]
    # Issued first (and a priority ticket), it is called before P-001.
    last = await _serve(api, imi, world.c3.id, "A-001")
    assert last["status"] == "done" and [s["status"] for s in last["steps"]] == ["done", "done"]
    types = session.scalars(sa.select(TicketEvent.type).where(TicketEvent.ticket_id == visit["id"])
                            .order_by(TicketEvent.id)).all()
    assert types == ["issued", "called", "started", "finished", "step_queued", "called",
                     "started", "finished"]


async def test_quota_all_or_nothing_names_the_step(api, world, session):
    ctx = Ctx(session=session, now=world.site.created_at, actor=SYSTEM)
    config.update_service(ctx, world.paspor.id, {"daily_quota": 1})
    session.commit()
    kiosk = auth(world.kiosk_token)
    r = await api.post("/api/v1/tickets", headers=kiosk, json={"service_id": world.paspor.id})
    assert r.status_code == 201
    before = session.scalar(sa.select(sa.func.count()).select_from(Ticket))
    r = await api.post("/api/v1/tickets", headers={**kiosk, "Accept-Language": "en"}, json={
        "service_id": world.ktp.id, "next_service_ids": [world.kk.id, world.paspor.id]})
    assert r.status_code == 409, r.text
    err = r.json()["error"]
    assert err["code"] == "quota_exhausted" and err["service_id"] == world.paspor.id
    assert "Paspor baru" in err["message"]
    # Nothing taken: no ticket, no quota place of KK, no number of KTP.
    assert session.scalar(sa.select(sa.func.count()).select_from(Ticket)) == before
    assert _quota_used(session, world.kk.id) == 0
    r = await api.post("/api/v1/tickets", headers=kiosk, json={
        "service_id": world.ktp.id, "next_service_ids": [world.kk.id]})
    assert r.status_code == 201 and r.json()["number"] == "A-001"


async def test_bad_plans_refused(api, world):
    kiosk = auth(world.kiosk_token)
    for body, code in (
        ({"service_id": world.ktp.id, "next_service_ids": [world.ktp.id]}, "duplicate_step"),
        ({"service_id": world.ktp.id, "next_service_ids": [world.kk.id, world.kk.id]},
         "duplicate_step"),
        ({"service_id": world.ktp.id, "next_service_ids": [999999]}, "not_found"),
        ({"service_id": world.ktp.id, "next_service_ids": list(range(1, 7))},
         "validation_error"),
    ):
        r = await api.post("/api/v1/tickets", headers=kiosk, json=body)
        assert r.status_code in (404, 422), r.text
        assert r.json()["error"]["code"] == code


async def test_officer_adds_drops_reorders_steps(api, world, session):
    kiosk = auth(world.kiosk_token)
    t = (await api.post("/api/v1/tickets", headers=kiosk,
                        json={"service_id": world.ktp.id})).json()
    assert t["steps"] == []
    duk = auth(await login(api, world.officer_d.username))
    imi = auth(await login(api, world.officer_i.username))
    await api.post(f"/api/v1/counters/{world.c1.id}/open", headers=duk)
    await api.post(f"/api/v1/counters/{world.c1.id}/call-next", headers=duk)
    # Only the current step's agency changes the plan.
    r = await api.post(f"/api/v1/tickets/{t['id']}/steps", headers=imi,
                       json={"service_id": world.paspor.id})
    assert r.status_code == 403
    for sid in (world.paspor.id, world.kk.id):
        r = await api.post(f"/api/v1/tickets/{t['id']}/steps", headers=duk,
                           json={"service_id": sid})
        assert r.status_code == 201, r.text
    steps = r.json()["steps"]
    assert [(s["service_id"], s["status"]) for s in steps] == [
        (world.ktp.id, "called"), (world.paspor.id, "pending"), (world.kk.id, "pending")]
    assert _quota_used(session, world.paspor.id) == 1
    r = await api.post(f"/api/v1/tickets/{t['id']}/steps", headers=duk,
                       json={"service_id": world.kk.id})
    assert r.status_code == 422 and r.json()["error"]["code"] == "duplicate_step"
    r = await api.put(f"/api/v1/tickets/{t['id']}/steps/order", headers=duk,
                      json={"step_ids": [steps[2]["id"], steps[1]["id"]]})
    assert r.status_code == 200, r.text
    assert [s["service_id"] for s in r.json()["steps"]] == [world.ktp.id, world.kk.id,
                                                            world.paspor.id]
    r = await api.put(f"/api/v1/tickets/{t['id']}/steps/order", headers=duk,
                      json={"step_ids": [steps[0]["id"], steps[1]["id"]]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_step_order"
    r = await api.delete(f"/api/v1/tickets/{t['id']}/steps/{steps[0]['id']}", headers=duk)
    assert r.status_code == 409 and r.json()["error"]["code"] == "step_not_pending"
    r = await api.delete(f"/api/v1/tickets/{t['id']}/steps/{steps[1]['id']}", headers=duk)
    assert r.status_code == 200
    assert [(s["service_id"], s["status"]) for s in r.json()["steps"]] == [
        (world.ktp.id, "called"), (world.kk.id, "pending"), (world.paspor.id, "cancelled")]
    assert _quota_used(session, world.paspor.id) == 0  # given back


async def test_no_show_keeps_later_steps_unless_site_cancels(api, world, session):
    kiosk = auth(world.kiosk_token)
    duk = auth(await login(api, world.officer_d.username))
    await api.post(f"/api/v1/counters/{world.c1.id}/open", headers=duk)
    body = {"service_id": world.ktp.id, "next_service_ids": [world.paspor.id]}
    t = (await api.post("/api/v1/tickets", headers=kiosk, json=body)).json()
    await api.post(f"/api/v1/counters/{world.c1.id}/call-next", headers=duk)
    r = await api.post(f"/api/v1/tickets/{t['id']}/no-show", headers=duk)
    assert r.json()["status"] == "waiting" and r.json()["service_id"] == world.paspor.id
    assert [s["status"] for s in r.json()["steps"]] == ["no_show", "waiting"]

    ctx = Ctx(session=session, now=world.site.created_at, actor=SYSTEM)
    config.update_site(ctx, world.site.id, {"visit_no_show_cancels": True})
    session.commit()
    t = (await api.post("/api/v1/tickets", headers=kiosk, json=body)).json()
    await api.post(f"/api/v1/counters/{world.c1.id}/call-next", headers=duk)
    r = await api.post(f"/api/v1/tickets/{t['id']}/no-show", headers=duk)
    assert r.json()["status"] == "no_show"
    assert [s["status"] for s in r.json()["steps"]] == ["no_show", "cancelled"]


async def test_back_of_queue_setting_and_close_out(api, world, session, clock):
    from datetime import timedelta

    from app.services import tickets

    ctx = Ctx(session=session, now=clock(), actor=SYSTEM)
    config.update_site(ctx, world.site.id, {"visit_requeue": "back"})
    session.commit()
    kiosk = auth(world.kiosk_token)
    v = (await api.post("/api/v1/tickets", headers=kiosk, json={
        "service_id": world.ktp.id, "next_service_ids": [world.paspor.id, world.kk.id]})).json()
    clock.set(clock() + timedelta(minutes=1))
    p = (await api.post("/api/v1/tickets", headers=kiosk,
                        json={"service_id": world.paspor.id})).json()
    clock.set(clock() + timedelta(minutes=1))
    duk = auth(await login(api, world.officer_d.username))
    moved = await _serve(api, duk, world.c1.id, "A-001")
    assert moved["people_ahead"] == 1  # behind P-001, who came later but was waiting already
    track = (await api.get(f"/api/v1/track/{p['tracking_code']}")).json()
    assert track["people_ahead"] == 0
    # End of day: every open step of the visit is closed out.
    ctx = Ctx(session=session, now=clock(), actor=SYSTEM)
    tickets.close_out(ctx, site_id=world.site.id, all_today=True)
    session.commit()
    rows = session.scalars(sa.select(VisitStep.status).where(VisitStep.ticket_id == v["id"])
                           .order_by(VisitStep.position)).all()
    assert rows == ["done", "closed_out", "closed_out"]


async def test_transfer_of_visit_keeps_the_plan(api, world):
    kiosk = auth(world.kiosk_token)
    duk = auth(await login(api, world.officer_d.username))
    await api.post(f"/api/v1/counters/{world.c1.id}/open", headers=duk)
    v = (await api.post("/api/v1/tickets", headers=kiosk, json={
        "service_id": world.ktp.id, "next_service_ids": [world.paspor.id]})).json()
    await api.post(f"/api/v1/counters/{world.c1.id}/call-next", headers=duk)
    r = await api.post(f"/api/v1/tickets/{v['id']}/transfer", headers=duk,
                       json={"service_id": world.kk.id})
    assert r.status_code == 201, r.text
    new = r.json()
    assert new["id"] != v["id"] and new["tracking_code"] is None  # staff answer: no code
    # The citizen's printed code follows the ticket to its new service.
    track = (await api.get(f"/api/v1/track/{v['tracking_code']}")).json()
    assert track["number"] == new["number"]
    assert [(s["service_id"], s["status"]) for s in new["steps"]] == [
        (world.ktp.id, "transferred"), (world.kk.id, "waiting"), (world.paspor.id, "pending")]
    moved = await _serve(api, duk, world.c1.id, new["number"])
    assert moved["service_id"] == world.paspor.id and moved["status"] == "waiting"


async def test_packages_admin_catalog_and_issue(api, world, session):
    admin = auth(await login(api, world.admin.username))
    duk = auth(await login(api, world.officer_d.username))
    body = {"site_id": world.site.id, "code": "PINDAH", "name": "Pindah datang",
            "service_ids": [world.kk.id, world.paspor.id]}
    assert (await api.post("/api/v1/packages", headers=duk, json=body)).status_code == 403
    r = await api.post("/api/v1/packages", headers=admin, json=body)
    assert r.status_code == 201, r.text
    pkg = r.json()
    assert (await api.post("/api/v1/packages", headers=admin, json=body)).json()[
        "error"]["code"] == "code_taken"
    bad = {**body, "code": "X", "service_ids": [world.kk.id, world.kk.id]}
    assert (await api.post("/api/v1/packages", headers=admin, json=bad)).json()[
        "error"]["code"] == "duplicate_step"
    cat = (await api.get(f"/api/v1/catalog?site_id={world.site.id}")).json()
    assert [(p["name"], p["service_ids"]) for p in cat["packages"]] == [
        ("Pindah datang", [world.kk.id, world.paspor.id])]
    # One tap: the package's first service and package_id fill in the later steps.
    r = await api.post("/api/v1/tickets", headers=auth(world.kiosk_token),
                       json={"service_id": world.kk.id, "package_id": pkg["id"]})
    assert r.status_code == 201, r.text
    assert [s["service_id"] for s in r.json()["steps"]] == [world.kk.id, world.paspor.id]
    r = await api.patch(f"/api/v1/packages/{pkg['id']}", headers=admin,
                        json={"name": "Pindah datang (baru)"})
    assert r.json()["name"] == "Pindah datang (baru)"
    assert (await api.delete(f"/api/v1/packages/{pkg['id']}", headers=admin)).json()[
        "is_active"] is False
    cat = (await api.get(f"/api/v1/catalog?site_id={world.site.id}")).json()
    assert cat["packages"] == []


def test_mall_file_packages_checked_with_line():
    import pytest

    from app.services import mallfile

    text = """version: 1
sites:
- code: s1
  name: S
  agencies:
  - code: A
    name: A
    services:
    - {code: A1, name: Satu, prefix: A}
  packages:
  - code: P
    name: Paket
    services: [A1, NOPE]
"""
    doc, lines = mallfile.parse(text)
    with pytest.raises(mallfile.ConfigFileError) as err:
        mallfile.check(doc, lines)
    assert err.value.line == 13 and "NOPE" in err.value.text("en")


async def test_tracking_page_and_console_show_the_whole_visit(api, world):
    kiosk = auth(world.kiosk_token)
    v = (await api.post("/api/v1/tickets", headers=kiosk, json={
        "service_id": world.ktp.id, "next_service_ids": [world.paspor.id]})).json()
    html = (await api.get(f"/t/{v['tracking_code']}")).text
    assert 'id="tr-plan"' in html and 'id="tr-plan" aria-labelledby="tr-plan-title" hidden' \
        not in html
    assert html.index("Perekaman KTP-el</span>") < html.index("Paspor baru</span>")
    assert "Imigrasi · Lantai 2 · Zona B" in html and "Berikutnya" in html
    single = (await api.post("/api/v1/tickets", headers=kiosk,
                             json={"service_id": world.kk.id})).json()
    html = (await api.get(f"/t/{single['tracking_code']}")).text
    assert 'aria-labelledby="tr-plan-title" hidden' in html
    duk = auth(await login(api, world.officer_d.username))
    await api.post(f"/api/v1/counters/{world.c1.id}/open", headers=duk)
    await api.post(f"/api/v1/counters/{world.c1.id}/call-next", headers=duk)
    view = (await api.get(f"/api/v1/counters/{world.c1.id}/console", headers=duk)).json()
    assert view["current"]["number"] == v["number"]
    assert [(s["service"], s["agency"], s["status"]) for s in view["current"]["steps"]] == [
        ("Perekaman KTP-el", "Disdukcapil", "called"), ("Paspor baru", "Imigrasi", "pending")]


async def test_visit_statistics_and_dashboard_integration_figure(api, world, clock, session):
    from datetime import timedelta

    kiosk = auth(world.kiosk_token)
    admin = auth(await login(api, world.admin.username))
    pkg = (await api.post("/api/v1/packages", headers=admin, json={
        "site_id": world.site.id, "code": "KTP-PAS", "name": "KTP lalu paspor",
        "service_ids": [world.ktp.id, world.paspor.id]})).json()
    v = (await api.post("/api/v1/tickets", headers=kiosk,
                        json={"service_id": world.ktp.id, "package_id": pkg["id"]})).json()
    (await api.post("/api/v1/tickets", headers=kiosk, json={
        "service_id": world.ktp.id, "next_service_ids": [world.kk.id]}))
    for _ in range(2):
        await api.post("/api/v1/tickets", headers=kiosk, json={"service_id": world.kk.id})
    duk = auth(await login(api, world.officer_d.username))
    imi = auth(await login(api, world.officer_i.username))
    clock.set(clock() + timedelta(minutes=5))
    await _serve(api, duk, world.c1.id, v["number"])  # 5 min waited, served at once
    clock.set(clock() + timedelta(minutes=7))
    await _serve(api, imi, world.c3.id, v["number"])  # 7 min between the steps
    rep = (await api.get(f"/api/v1/stats/visits?site_id={world.site.id}", headers=admin)).json()
    assert rep["all_visits"] == 4 and rep["visits"] == 2 and rep["multi_agency_visits"] == 1
    assert rep["multi_agency_share"] == 0.25 and rep["steps_per_visit"] == 2
    assert rep["completed"] == 1 and rep["visit_minutes"]["median"] == 12.0
    assert rep["between_steps_minutes"]["median"] == 7.0
    by = {p["package"]: p for p in rep["by_package"]}
    assert by["KTP lalu paspor"]["visits"] == 1 and by[None]["visits"] == 1
    dash = (await api.get(f"/api/v1/stats/dashboard?site_id={world.site.id}",
                          headers=admin)).json()
    assert dash["totals"]["integration"] == {"visits": 4, "several_services": 2,
                                             "multi_agency": 1, "multi_agency_share": 0.25}
    # Officers see no statistics.
    assert (await api.get(f"/api/v1/stats/visits?site_id={world.site.id}",
                          headers=duk)).status_code == 403


async def test_booking_with_several_steps_check_in_starts_the_visit(api, world, session, clock):
    from tests.api.test_booking_api import T0, book, enable, wib

    clock.set(T0 + timedelta_minutes(10))
    enable(session, world.ktp, slot_minutes=30, slot_capacity=5)
    r = await book(api, world.ktp.id, wib(1, 9), next_service_ids=[world.paspor.id])
    assert r.status_code == 201, r.text
    assert r.json()["next_service_ids"] == [world.paspor.id]
    code = r.json()["code"]
    bad = await book(api, world.ktp.id, wib(1, 9), next_service_ids=[world.ktp.id])
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "duplicate_step"
    assert _quota_used(session, world.paspor.id) == 0  # taken at check-in, not at booking
    clock.set(T0 + timedelta_minutes(65))
    r = await api.post(f"/api/v1/bookings/{code}/check-in", headers=auth(world.kiosk_token))
    assert r.status_code == 201, r.text
    t = r.json()["ticket"]
    assert t["channel"] == "booking"
    assert [(s["service_id"], s["status"]) for s in t["steps"]] == [
        (world.ktp.id, "waiting"), (world.paspor.id, "pending")]
    assert _quota_used(session, world.paspor.id) == 1


def timedelta_minutes(n: int):
    from datetime import timedelta

    return timedelta(minutes=n)
