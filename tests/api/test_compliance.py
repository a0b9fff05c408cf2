"""Issue 18 over the API: priority groups of UU 25/2009, the public service page."""

from __future__ import annotations

from datetime import timedelta

from tests.api.test_queue_flow import login
from tests.conftest import auth


async def test_other_priority_is_refused_with_the_reason(api, world):
    kiosk = auth(world.kiosk_token)
    r = await api.post("/api/v1/tickets", json={"service_id": world.ktp.id, "priority": "other"},
                       headers=kiosk)
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "invalid_value"
    assert "Pasal 29" in error["message"] and "other" in error["message"]
    r = await api.post("/api/v1/tickets", json={"service_id": world.ktp.id,
                                                "priority": "korban_bencana"}, headers=kiosk)
    assert r.status_code == 201, r.text


async def test_sakit_only_where_the_service_offers_it(api, world):
    kiosk = auth(world.kiosk_token)
    body = {"service_id": world.paspor.id, "priority": "sakit"}
    r = await api.post("/api/v1/tickets", json=body, headers=kiosk)
    assert r.status_code == 422 and "sakit" in r.json()["error"]["message"]
    catalog = (await api.get(f"/api/v1/catalog?site_code={world.site.code}")).json()
    paspor = next(s for a in catalog["agencies"] for s in a["services"]
                  if s["id"] == world.paspor.id)
    assert "sakit" not in paspor["priority_groups"]
    assert "korban_bencana" in paspor["priority_groups"]

    admin = auth(await login(api, world.admin.username))
    r = await api.patch(f"/api/v1/services/{world.paspor.id}", json={"priority_sick": True},
                        headers=admin)
    assert r.status_code == 200 and r.json()["priority_sick"] is True
    r = await api.post("/api/v1/tickets", json=body, headers=kiosk)
    assert r.status_code == 201, r.text
    catalog = (await api.get(f"/api/v1/catalog?site_code={world.site.code}")).json()
    paspor = next(s for a in catalog["agencies"] for s in a["services"]
                  if s["id"] == world.paspor.id)
    assert paspor["priority_groups"][-1] == "sakit"


async def test_public_service_page_shows_all_six_components(api, world):
    admin = auth(await login(api, world.admin.username))
    texts = {"requirements": "Fotokopi KK", "procedure": "Ambil nomor, tunggu panggilan",
             "completion_time": "15 menit", "fee": "Gratis", "product": "KTP-el",
             "complaints": "Meja informasi dan SP4N-LAPOR! <lapor.go.id>"}
    r = await api.patch(f"/api/v1/services/{world.ktp.id}", json=texts, headers=admin)
    assert r.status_code == 200, r.text
    r = await api.get(f"/layanan/{world.ktp.id}")
    assert r.status_code == 200
    html = r.text
    for key in texts:
        assert f'data-component="{key}"' in html
    assert "Penanganan pengaduan, saran dan masukan" in html
    assert "SP4N-LAPOR! &lt;lapor.go.id&gt;" in html  # escaped
    assert "tanpa biaya tambahan" in html and "Korban bencana" in html
    assert "Sakit" not in html  # KTP offers no priority for the sick
    assert (await api.get("/layanan/999999")).status_code == 404
    r = await api.get(f"/layanan/{world.ktp.id}?lang=en")
    assert "Complaints, suggestions and feedback" in r.text


async def test_time_zone_outside_wib_wita_wit_is_warned(api, world):
    admin = auth(await login(api, world.admin.username))
    r = await api.post("/api/v1/sites", headers=admin, json={
        "code": "mpp-batam", "name": "MPP Batam", "timezone": "Asia/Singapore",
        "prefill_holidays": False})
    assert r.status_code == 201, r.text
    warnings = r.json()["warnings"]
    assert [w["code"] for w in warnings] == ["timezone_not_indonesian"]
    assert "WIB" in warnings[0]["message"] and "Asia/Singapore" in warnings[0]["message_en"]
    r = await api.patch(f"/api/v1/sites/{r.json()['id']}", headers=admin,
                        json={"timezone": "Asia/Pontianak"})
    assert r.status_code == 200 and r.json()["warnings"] == []
    r = await api.get(f"/api/v1/sites/{world.site.id}", headers=admin)
    assert r.json()["warnings"] == []  # Asia/Jakarta


async def test_new_site_starts_with_national_holidays_and_refreshes_next_year(api, world, clock):
    admin = auth(await login(api, world.admin.username))
    r = await api.post("/api/v1/sites", headers=admin, json={"code": "mpp-libur",
                                                             "name": "MPP Libur"})
    site = r.json()["id"]
    year = clock().year
    days = {d["day"]: d for d in (await api.get(f"/api/v1/sites/{site}/special-days",
                                                headers=admin)).json()}
    assert days[f"{year}-08-17"]["kind"] == "libur_nasional" and days[f"{year}-08-17"]["closed"]
    assert days[f"{year}-08-17"]["note"] == "Hari Kemerdekaan Republik Indonesia"
    assert f"{year + 1}-08-17" in days and f"{year + 2}-08-17" not in days
    cuti = next(d for d in days.values() if d["kind"] == "cuti_bersama")
    # Cuti bersama stays editable: the MPP serves in the morning that day.
    r = await api.post(f"/api/v1/sites/{site}/special-days", headers=admin,
                       json={"day": cuti["day"], "ranges": [["08:00", "12:00"]],
                             "note": cuti["note"]})
    assert r.status_code == 200 and r.json()["ranges"] == [["08:00", "12:00"]]
    # One action refreshes a year: what the site has is kept, missing dates are added.
    r = await api.post(f"/api/v1/sites/{site}/special-days/prefill", headers=admin,
                       params={"year": year + 2})
    assert r.status_code == 200 and r.json()["added"] > 10 and r.json()["kept"] == 0
    r = await api.post(f"/api/v1/sites/{site}/special-days/prefill", headers=admin,
                       params={"year": year})
    assert r.json()["added"] == 0 and r.json()["kept"] > 10
    days = {d["day"]: d for d in (await api.get(f"/api/v1/sites/{site}/special-days",
                                                headers=admin)).json()}
    assert days[cuti["day"]]["ranges"] == [["08:00", "12:00"]]
    r = await api.post(f"/api/v1/sites/{site}/special-days/prefill", headers=admin)
    assert r.json()["year"] == year + 1  # default: next year
    # The world's site (made by the service layer, as a mall file would) has none.
    r = await api.get(f"/api/v1/sites/{world.site.id}/special-days", headers=admin)
    assert r.json() == []
    officer = auth(await login(api, world.officer_d.username))
    r = await api.post(f"/api/v1/sites/{site}/special-days/prefill", headers=officer)
    assert r.status_code in (403, 404)


async def test_audit_log_speaks_in_sentences_with_names(api, world):
    admin = auth(await login(api, world.admin.username))
    r = await api.patch(f"/api/v1/services/{world.kk.id}", headers=admin,
                        json={"daily_quota": 40, "booking_enabled": True})
    assert r.status_code == 200
    r = await api.patch(f"/api/v1/counters/{world.c1.id}", headers=admin,
                        json={"service_ids": [world.kk.id, world.ktp.id]})
    assert r.status_code == 200, r.text
    page = (await api.get("/api/v1/audit?entity=service&action=update", headers=admin)).json()
    row = page["items"][0]
    assert row["summary"] == f"{world.admin.username} mengubah layanan K · Kartu Keluarga"
    assert "kuota harian: 40" in row["details"] and "bisa dipesan daring: ya" in row["details"]
    page = (await api.get("/api/v1/audit?entity=counter", headers=admin,
                          params={"limit": 1})).json()
    details = page["items"][0]["details"]
    assert len(details) == 1 and details[0].startswith("layanan: ")
    assert set(details[0][len("layanan: "):].split(", ")) == {"A · Perekaman KTP-el",
                                                            "K · Kartu Keluarga"}
    en = (await api.get("/api/v1/audit?entity=service&action=update",
                        headers={**admin, "Accept-Language": "en"})).json()
    assert en["items"][0]["summary"].endswith("changed service K · Kartu Keluarga")
    facets = (await api.get("/api/v1/audit/facets", headers=admin)).json()
    assert facets["entity_labels"]["service"] == "layanan"
    assert facets["action_labels"]["update"] == "mengubah"


async def test_booking_identity_is_gone_once_its_ticket_is_done(api, world, session, clock):
    """'Survei ini anonim': the survey and the priority group reach no name or phone."""
    import sqlalchemy as sa

    from app.db.models import Booking, SurveyResponse, Ticket
    from app.services.booking import mask_phone
    from tests.api.test_booking_api import T0, book, enable, wib

    clock.set(T0 + timedelta(minutes=50))  # 08:50 WIB, inside the 09:00 slot's check-in
    enable(session, world.ktp, booking_requires_contact=True)
    r = await book(api, world.ktp.id, wib(1, 9), name="Siti Aminah", phone="081234567890",
                   consent=True)
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    kiosk = auth(world.kiosk_token)
    r = await api.post(f"/api/v1/bookings/{code}/check-in", headers=kiosk)
    assert r.status_code == 201, r.text
    ticket_id = r.json()["ticket"]["id"]
    officer = auth(await login(api, world.officer_d.username))
    await api.post(f"/api/v1/counters/{world.c1.id}/open", headers=officer)
    r = await api.post(f"/api/v1/counters/{world.c1.id}/call-next", headers=officer)
    assert r.json()["id"] == ticket_id
    session.expire_all()
    assert session.scalar(sa.select(Booking.name).where(Booking.code == code)) == "Siti Aminah"
    for action in ("start", "finish"):
        assert (await api.post(f"/api/v1/tickets/{ticket_id}/{action}",
                               headers=officer)).status_code == 200
    session.expire_all()
    row = session.scalar(sa.select(Booking).where(Booking.code == code))
    assert (row.name, row.phone, row.consent_at) == (None, None, None)
    tracking = session.get(Ticket, ticket_id).tracking_code
    r = await api.post("/api/v1/surveys", json={"tracking_code": tracking, "answers": [4] * 9})
    assert r.status_code == 201, r.text
    linked = session.execute(
        sa.select(Booking.name, Booking.phone)
        .join(Ticket, Ticket.booking_id == Booking.id)
        .join(SurveyResponse, SurveyResponse.ticket_id == Ticket.id)).all()
    assert linked == [(None, None)]
    # mask_phone keeps the first 4 and the last 3 digits.
    assert mask_phone("081234567890") == "0812*****890"


async def test_counter_break_calls_nobody_is_not_counted_open_and_is_counted(api, world,
                                                                              clock, session):
    officer = auth(await login(api, world.officer_d.username))
    kiosk = auth(world.kiosk_token)
    for c in (world.c1, world.c2):
        assert (await api.post(f"/api/v1/counters/{c.id}/open", headers=officer)
                ).status_code == 200
    r = await api.post(f"/api/v1/counters/{world.c2.id}/break", headers=officer,
                       json={"reason": "Salat Jumat"})
    assert r.status_code == 200, r.text
    assert r.json()["on_break"] is True and r.json()["reason"] == "Salat Jumat"
    r = await api.post(f"/api/v1/counters/{world.c2.id}/break", headers=officer,
                       json={"reason": ""})
    assert r.status_code == 422
    for _ in range(2):
        await api.post("/api/v1/tickets", json={"service_id": world.ktp.id}, headers=kiosk)
    r = await api.post(f"/api/v1/counters/{world.c2.id}/call-next", headers=officer)
    assert r.status_code == 409 and r.json()["error"]["code"] == "counter_on_break"
    # The waiting estimate and the dashboard count one open counter, not two.
    catalog = (await api.get(f"/api/v1/catalog?site_code={world.site.code}")).json()
    ktp = next(s for a in catalog["agencies"] for s in a["services"] if s["id"] == world.ktp.id)
    assert ktp["open_counters"] == 1
    manager = auth(await login(api, world.manager.username))
    snap = (await api.get("/api/v1/stats/dashboard", headers=manager)).json()
    row = next(s for a in snap["agencies"] for s in a["services"] if s["id"] == world.ktp.id)
    assert row["open_counters"] == 1
    # The board shows the counter on break (and no reason: that stays on staff screens).
    from app.services.snapshots import board_filter, display_snapshot

    session.expire_all()
    flt, _ = board_filter(session, site_id=world.site.id, zone=None, agency_id=None,
                          board_id=None)
    board = display_snapshot(session, flt, clock())
    tile = next(c for c in board["counters"] if c["id"] == world.c2.id)
    assert tile["on_break"] is True and "Salat" not in str(board)
    assert next(c for c in board["counters"] if c["id"] == world.c1.id)["on_break"] is False
    console = (await api.get(f"/api/v1/counters/{world.c2.id}/console", headers=officer)).json()
    assert console["break"]["on_break"] is True and console["break"]["reason"] == "Salat Jumat"
    clock.set(clock() + timedelta(minutes=30))
    r = await api.post(f"/api/v1/counters/{world.c2.id}/break/end", headers=officer)
    assert r.status_code == 200 and r.json()["on_break"] is False
    assert r.json()["seconds_today"] == 30 * 60
    r = await api.post(f"/api/v1/counters/{world.c2.id}/call-next", headers=officer)
    assert r.status_code == 200
    report = (await api.get("/api/v1/stats/report", headers=manager,
                            params={"period": "today"})).json()
    assert report["breaks"]["seconds"] == 30 * 60
    assert report["breaks"]["per_counter"][0]["counter_id"] == world.c2.id


async def test_manager_enters_paper_questionnaires_marked_by_source(api, world, clock):
    manager = auth(await login(api, world.manager.username))
    day = clock().date().isoformat()
    body = {"service_id": world.kk.id, "day": day, "source": "paper", "responses": [
        {"answers": [4] * 9, "comment": "Petugas ramah"}, {"answers": [3] * 9},
        {"answers": [2, 3, 3, 3, 3, 3, 3, 3, 3]}]}
    r = await api.post("/api/v1/surveys/paper", json=body, headers=manager)
    assert r.status_code == 201, r.text and r.json()["stored"] == 3
    r = await api.post("/api/v1/surveys/paper", headers=manager, json={
        **body, "source": "field", "responses": [{"answers": [4] * 9}]})
    assert r.status_code == 201
    ikm = (await api.get("/api/v1/stats/ikm", headers=manager,
                         params={"from": day, "to": day})).json()
    assert ikm["respondents"] == 4 and ikm["by_source"] == {"paper": 3, "field": 1}
    # Sums: 36 + 27 + 26 + 36 = 125 over 36 answers -> 125 / 36 x 25 = 86.805... -> 86.81
    assert ikm["ikm"] == 86.81
    assert "Petugas ramah" in [c["comment"] for c in ikm["comments"]]
    # Bad input is a 422; officers and other agencies' managers cannot enter them.
    r = await api.post("/api/v1/surveys/paper", headers=manager,
                       json={**body, "responses": [{"answers": [5] * 9}]})
    assert r.status_code == 422
    r = await api.post("/api/v1/surveys/paper", headers=manager,
                       json={**body, "day": "2999-01-01"})
    assert r.status_code == 422
    officer = auth(await login(api, world.officer_d.username))
    r = await api.post("/api/v1/surveys/paper", headers=officer, json=body)
    assert r.status_code == 403
    admin = auth(await login(api, world.admin.username))
    audit = (await api.get("/api/v1/audit?action=survey_paper", headers=admin)).json()
    assert audit["items"][0]["summary"].endswith("memasukkan kuesioner kertas layanan "
                                                 "K · Kartu Keluarga")
