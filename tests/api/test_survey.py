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


async def test_counter_tablet_pending(api, world, clock):
    _morning(clock)
    officer = await login(api, world.officer_d.username)
    r = await api.get("/api/v1/surveys/pending", params={"counter_id": world.c1.id},
                      headers=officer)
    assert r.status_code == 200 and r.json() == {"ticket": None}
    done = (await serve(api, clock, world, officer, 2))[-1]
    r = await api.get("/api/v1/surveys/pending", params={"counter_id": world.c1.id},
                      headers=officer)
    assert r.json()["ticket"]["id"] == done["id"]
    other = await login(api, world.officer_i.username)
    r = await api.get("/api/v1/surveys/pending", params={"counter_id": world.c1.id},
                      headers=other)
    assert r.status_code == 403
    assert (await api.get("/api/v1/surveys/pending",
                          params={"counter_id": world.c1.id})).status_code == 401
    await api.post("/api/v1/surveys", json={"tracking_code": done["tracking_code"],
                                             "answers": GOOD})
    r = await api.get("/api/v1/surveys/pending", params={"counter_id": world.c1.id},
                      headers=officer)
    assert r.json() == {"ticket": None}
    # A ticket finished longer ago than the tablet window is not offered any more.
    done2 = (await serve(api, clock, world, officer, 1))[0]
    r = await api.get("/api/v1/surveys/pending", params={"counter_id": world.c1.id},
                      headers=officer)
    assert r.json()["ticket"]["id"] == done2["id"]
    clock.set(clock() + timedelta(minutes=16))
    r = await api.get("/api/v1/surveys/pending", params={"counter_id": world.c1.id},
                      headers=officer)
    assert r.json() == {"ticket": None}
