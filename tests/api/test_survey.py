"""SKM survey: one anonymous response per finished ticket, the public page and the tablet."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.db.models import SurveyResponse
from tests.api.test_stats_api import _morning, login, serve
from tests.conftest import auth

GOOD = [4, 3, 3, 4, 3, 4, 4, 3, 3]


async def test_survey_rules(api, world, clock, session):
    _morning(clock)
    officer = await login(api, world.officer_d.username)
    done = (await serve(api, clock, world, officer, 1))[0]
    r = await api.post("/api/v1/tickets", json={"service_id": world.ktp.id},
                       headers=auth(world.kiosk_token))
    waiting = r.json()

    r = await api.post("/api/v1/surveys", json={"tracking_code": waiting["tracking_code"],
                                                 "answers": GOOD})
    assert r.status_code == 409 and r.json()["error"]["code"] == "survey_not_allowed"
    for bad in ([4] * 8, [4] * 10, [0] + [4] * 8, [5] + [4] * 8, ["x"] + [4] * 8):
        r = await api.post("/api/v1/surveys", json={"tracking_code": done["tracking_code"],
                                                     "answers": bad})
        assert r.status_code == 422, bad
    # No personal data is accepted: unknown fields are refused, not stored.
    r = await api.post("/api/v1/surveys", json={"tracking_code": done["tracking_code"],
                                                 "answers": GOOD, "nik": "3171000000000001"})
    assert r.status_code == 422
    r = await api.post("/api/v1/surveys", json={"tracking_code": "tidak-ada", "answers": GOOD})
    assert r.status_code == 404
    r = await api.post("/api/v1/surveys", json={"tracking_code": done["tracking_code"],
                                                 "answers": GOOD, "comment": "  Ramah  "})
    assert r.status_code == 201, r.text
    r = await api.post("/api/v1/surveys", json={"tracking_code": done["tracking_code"],
                                                 "answers": GOOD})
    assert r.status_code == 409 and r.json()["error"]["code"] == "survey_already_submitted"
    row = session.scalars(sa.select(SurveyResponse)).one()
    assert [getattr(row, f"u{i}") for i in range(1, 10)] == GOOD and row.comment == "Ramah"
    assert row.agency_id == world.dukcapil.id and row.counter_id == world.c1.id
    track = (await api.get(f"/api/v1/track/{done['tracking_code']}")).json()
    assert track["survey_submitted"] is True and track["survey_available"] is False
    r = await api.get("/api/v1/surveys/unsur")
    assert r.json()["unsur"][7]["labels"] == ["Tidak ada", "Ada tetapi tidak berfungsi",
                                              "Berfungsi kurang maksimal", "Dikelola dengan baik"]


async def test_public_survey_page(api, world, clock, session):
    _morning(clock)
    officer = await login(api, world.officer_d.username)
    done = (await serve(api, clock, world, officer, 1))[0]
    waiting = (await api.post("/api/v1/tickets", json={"service_id": world.ktp.id},
                              headers=auth(world.kiosk_token))).json()
    r = await api.get(f"/survey/{waiting['tracking_code']}")
    assert r.status_code == 200 and 'id="survey-wait"' in r.text and "<form" not in r.text
    assert (await api.get("/survey/tidak-ada")).status_code == 404
    r = await api.get(f"/survey/{done['tracking_code']}")
    assert r.status_code == 200 and 'id="survey-form"' in r.text
    for label in ("Tidak sopan dan ramah", "Sangat sopan dan ramah", "Dikelola dengan baik",
                  "Sangat mahal", "Gratis", "Sangat baik"):
        assert label in r.text
    assert "Petugas Dukcapil" not in r.text  # no names on public screens
    form = {f"u{i}": str(v) for i, v in enumerate(GOOD, start=1)}
    # A missing answer re-renders the form with the others kept.
    r = await api.post(f"/survey/{done['tracking_code']}", data={**form, "u9": ""})
    assert r.status_code == 422 and 'role="alert"' in r.text
    assert r.text.count("checked") == 8
    r = await api.post(f"/survey/{done['tracking_code']}", data={**form, "comment": "<b>ok</b>"},
                       follow_redirects=False)
    assert r.status_code == 303
    r = await api.get(r.headers["location"])
    assert 'id="survey-thanks"' in r.text
    assert session.scalar(sa.select(SurveyResponse.comment)) == "<b>ok</b>"
    r = await api.post(f"/survey/{done['tracking_code']}", data=form)
    assert r.status_code == 409
    r = await api.get(f"/survey/{done['tracking_code']}?lang=en")
    assert "Thank you" in r.text


async def _tablet(api, world, counter) -> dict[str, str]:
    """A survey tablet bound to `counter`, issued by the site's manager like any device."""
    manager = await login(api, world.manager.username)
    r = await api.post("/api/v1/devices", headers=manager, json={
        "site_id": world.site.id, "kind": "tablet", "name": "Tablet " + counter.name,
        "counter_id": counter.id})
    assert r.status_code == 201, r.text
    assert r.json()["path"].startswith("/survey?token=dev_")
    assert r.json()["counter_id"] == counter.id
    return auth(r.json()["token"])


async def test_counter_tablet_pending(api, world, clock):
    _morning(clock)
    officer = await login(api, world.officer_d.username)
    tablet = await _tablet(api, world, world.c1)
    r = await api.get("/api/v1/surveys/tablet", headers=tablet)
    assert r.status_code == 200 and r.json()["ticket"] is None
    assert r.json()["counter"]["name"] == "Loket 1"
    done = (await serve(api, clock, world, officer, 2))[-1]
    r = await api.get("/api/v1/surveys/tablet", headers=tablet)
    assert r.json()["ticket"]["id"] == done["id"]
    assert "tracking_code" not in r.json()["ticket"]
    assert done["tracking_code"] not in r.text
    # Staff of the counter's agency may look (no code either); another agency may not.
    r = await api.get("/api/v1/surveys/pending", params={"counter_id": world.c1.id},
                      headers=officer)
    assert r.json()["ticket"]["id"] == done["id"] and done["tracking_code"] not in r.text
    other = await login(api, world.officer_i.username)
    r = await api.get("/api/v1/surveys/pending", params={"counter_id": world.c1.id},
                      headers=other)
    assert r.status_code == 403
    # The tablet asks for its own counter only; staff and anonymous callers cannot ask.
    r = await api.get("/api/v1/surveys/pending", params={"counter_id": world.c2.id},
                      headers=tablet)
    assert r.status_code == 403
    assert (await api.get("/api/v1/surveys/tablet", headers=officer)).status_code == 403
    assert (await api.get("/api/v1/surveys/tablet")).status_code == 401
    assert (await api.get("/api/v1/surveys/pending",
                          params={"counter_id": world.c1.id})).status_code == 401
    r = await api.post("/api/v1/surveys", headers=tablet,
                       json={"ticket_id": done["id"], "answers": GOOD})
    assert r.status_code == 201, r.text
    r = await api.get("/api/v1/surveys/tablet", headers=tablet)
    assert r.json()["ticket"] is None
    # A ticket finished longer ago than the tablet window is not offered any more.
    done2 = (await serve(api, clock, world, officer, 1))[0]
    r = await api.get("/api/v1/surveys/tablet", headers=tablet)
    assert r.json()["ticket"]["id"] == done2["id"]
    clock.set(clock() + timedelta(minutes=16))
    r = await api.get("/api/v1/surveys/tablet", headers=tablet)
    assert r.json()["ticket"] is None


async def test_tablet_survey_is_marked_and_cleared_when_the_next_citizen_is_called(
        api, world, clock, session):
    """Issue 16 item 5 / issue 17: the tablet answers only for the ticket it offers, marked
    source "tablet"; once the next citizen is called there, the old survey is gone."""
    _morning(clock)
    officer = await login(api, world.officer_d.username)
    tablet = await _tablet(api, world, world.c1)
    first, second = await serve(api, clock, world, officer, 2)
    # The first ticket is no longer offered (the second was called and finished after it).
    r = await api.post("/api/v1/surveys", headers=tablet,
                       json={"ticket_id": first["id"], "answers": GOOD})
    assert r.status_code == 409 and r.json()["error"]["code"] == "survey_not_pending"
    # A tablet cannot use a tracking code (it never sees one) nor rate for another counter.
    r = await api.post("/api/v1/surveys", headers=tablet,
                       json={"tracking_code": second["tracking_code"], "answers": GOOD})
    assert r.status_code == 403
    third = (await api.post("/api/v1/tickets", json={"service_id": world.ktp.id},
                            headers=auth(world.kiosk_token))).json()
    r = await api.post(f"/api/v1/counters/{world.c1.id}/call-next", headers=officer)
    assert r.json()["id"] == third["id"]
    # The next citizen stands at the counter: the second citizen's survey is withdrawn.
    assert (await api.get("/api/v1/surveys/tablet", headers=tablet)).json()["ticket"] is None
    r = await api.post("/api/v1/surveys", headers=tablet,
                       json={"ticket_id": second["id"], "answers": GOOD})
    assert r.status_code == 409 and r.json()["error"]["code"] == "survey_not_pending"
    await api.post(f"/api/v1/tickets/{third['id']}/start", headers=officer)
    await api.post(f"/api/v1/tickets/{third['id']}/finish", headers=officer)
    r = await api.post("/api/v1/surveys", headers=tablet,
                       json={"ticket_id": third["id"], "answers": GOOD})
    assert r.status_code == 201, r.text
    # Neither or both of tracking_code and ticket_id: 422.
    r = await api.post("/api/v1/surveys", headers=tablet, json={"answers": GOOD})
    assert r.status_code == 422
    rows = session.execute(sa.select(SurveyResponse.ticket_id, SurveyResponse.source)).all()
    assert rows == [(third["id"], "tablet")]
    # A tablet must name a counter of its own site; other kinds name none.
    manager = await login(api, world.manager.username)
    r = await api.post("/api/v1/devices", headers=manager, json={
        "site_id": world.site.id, "kind": "tablet", "name": "Tanpa loket"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "counter_id"
    r = await api.post("/api/v1/devices", headers=manager, json={
        "site_id": world.site.id, "kind": "kiosk", "name": "K", "counter_id": world.c1.id})
    assert r.status_code == 422


async def test_staff_answers_do_not_carry_the_tracking_code(api, world, clock):
    """Issue 16 item 5: officers saw every ticket's code (call-next, GET /tickets/{id})."""
    _morning(clock)
    officer = await login(api, world.officer_d.username)
    issued = (await api.post("/api/v1/tickets", json={"service_id": world.ktp.id},
                             headers=auth(world.kiosk_token))).json()
    code = issued["tracking_code"]
    assert code  # the kiosk prints it (and its QR) for the citizen
    await api.post(f"/api/v1/counters/{world.c1.id}/open", headers=officer)
    answers = [await api.post(f"/api/v1/counters/{world.c1.id}/call-next", headers=officer),
               await api.get(f"/api/v1/tickets/{issued['id']}", headers=officer),
               await api.post(f"/api/v1/tickets/{issued['id']}/recall", headers=officer),
               await api.post(f"/api/v1/tickets/{issued['id']}/start", headers=officer)]
    transferred = await api.post(f"/api/v1/tickets/{issued['id']}/transfer", headers=officer,
                                 json={"service_id": world.kk.id})
    answers.append(transferred)
    answers.append(await api.get(f"/api/v1/tickets/{transferred.json()['id']}",
                                 headers=await login(api, world.admin.username)))
    # The console's snapshot: the same body its websocket sends.
    answers.append(await api.get(f"/api/v1/counters/{world.c1.id}/console", headers=officer))
    answers.append(await api.get("/api/v1/surveys/pending", headers=officer,
                                 params={"counter_id": world.c1.id}))
    for r in answers:
        assert r.status_code in (200, 201), (r.request.url, r.text)
        assert code not in r.text, r.request.url
    assert answers[0].json()["tracking_code"] is None
    # A staff member issuing a ticket does not get it either; the citizen's own page does.
    r = await api.post("/api/v1/tickets", json={"service_id": world.ktp.id}, headers=officer)
    assert r.status_code == 201 and r.json()["tracking_code"] is None


async def test_a_staff_session_cannot_submit_a_survey(app, api, world, clock, session):
    """Issue 16 item 5: an officer rated their own service 4/4 with a code read off call-next.
    A staff token or a staff browser session is refused with 403 survey_staff_session; the
    citizen with the printed code still rates (source "online")."""
    import re

    import httpx

    from tests.api.test_sessions import sign_in

    _morning(clock)
    officer = await login(api, world.officer_d.username)
    a, b = await serve(api, clock, world, officer, 2)
    r = await api.post("/api/v1/surveys", headers=officer,
                       json={"tracking_code": a["tracking_code"], "answers": [4] * 9})
    assert r.status_code == 403 and r.json()["error"]["code"] == "survey_staff_session"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://test") as browser:
        await sign_in(browser, world.officer_d.username)
        page = await browser.get(f"/counter/{world.c1.id}")
        csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text).group(1)
        r = await browser.post("/api/v1/surveys", headers={"X-CSRF-Token": csrf},
                               json={"tracking_code": a["tracking_code"], "answers": [4] * 9})
        assert r.status_code == 403 and r.json()["error"]["code"] == "survey_staff_session"
        # The public HTML form in a browser signed in as staff is refused too.
        form = {f"u{i}": "4" for i in range(1, 10)}
        r = await browser.post(f"/survey/{a['tracking_code']}", data=form)
        assert r.status_code == 403 and 'role="alert"' in r.text
    assert session.scalar(sa.select(sa.func.count()).select_from(SurveyResponse)) == 0
    # The citizen, with the code printed on the ticket, still rates.
    r = await api.post("/api/v1/surveys", json={"tracking_code": a["tracking_code"],
                                                 "answers": GOOD})
    assert r.status_code == 201, r.text
    r = await api.post(f"/survey/{b['tracking_code']}", data={
        f"u{i}": str(v) for i, v in enumerate(GOOD, start=1)}, follow_redirects=False)
    assert r.status_code == 303
    assert session.scalars(sa.select(SurveyResponse.source)).all() == ["online", "online"]
    # The IKM report counts the respondents per source.
    manager = await login(api, world.manager.username)
    r = await api.get("/api/v1/stats/ikm", headers=manager,
                      params={"from": "2026-11-23", "to": "2026-11-23"})
    assert r.status_code == 200, r.text
    assert r.json()["by_source"] == {"online": 2}
