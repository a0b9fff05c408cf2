"""Online bookings show in the manager's dashboard snapshot, the summary and the report."""

from __future__ import annotations

from tests.api.test_booking_api import T0, book, enable, login, wib


async def test_bookings_counted_in_summary_report_and_dashboard(api, world, session, clock):
    clock.set(T0)
    enable(session, world.ktp, slot_minutes=30, slot_capacity=5)
    made = []
    for hh in (9, 9, 10):
        r = await book(api, world.ktp.id, wib(1, hh))
        assert r.status_code == 201, r.text
        made.append(r.json()["code"])
    r = await api.post(f"/api/v1/bookings/{made[2]}/cancel")
    assert r.status_code == 200, r.text

    manager = await login(api, world.manager.username)
    params = {"from": "2026-12-01", "to": "2026-12-01", "site_id": world.site.id}
    summary = (await api.get("/api/v1/stats/summary", params=params, headers=manager)).json()
    assert summary["bookings"]["booked"] == 2 and summary["bookings"]["cancelled"] == 1
    report = (await api.get("/api/v1/stats/report", params=params, headers=manager)).json()
    assert report["bookings"]["booked"] == 2 and report["bookings"]["total"] == 3
    # Another agency's view sees none of Dukcapil's bookings.
    other = {**params, "agency_id": world.imigrasi.id}
    summary = (await api.get("/api/v1/stats/summary", params=other, headers=manager)).json()
    assert summary["bookings"]["total"] == 0
    # After the 09:00 window has passed, the unchecked bookings count as no-shows.
    clock.set(T0.replace(hour=4))
    summary = (await api.get("/api/v1/stats/summary", params=params, headers=manager)).json()
    assert summary["bookings"]["no_show"] == 2
    dash = (await api.get("/api/v1/stats/dashboard", params={"site_id": world.site.id},
                          headers=manager)).json()
    assert dash["totals"]["bookings"]["no_show"] == 2
    assert dash["totals"]["bookings"]["cancelled"] == 1
