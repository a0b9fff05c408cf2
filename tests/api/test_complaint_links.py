"""Tracking and survey pages link to SP4N-LAPOR! and to the service's own complaints channel."""

from __future__ import annotations

import re

from tests.api.test_stats_api import login
from tests.conftest import auth


async def test_tracking_and_survey_pages_link_complaints(api, app, world):
    admin = await login(api, world.admin.username)
    r = await api.patch(f"/api/v1/services/{world.ktp.id}", headers=admin,
                        json={"complaints": "https://pengaduan.dukcapil.example/ktp"})
    assert r.status_code == 200, r.text
    app.state.settings.lapor_url = "https://lapor.example/mpp-uji"
    t = (await api.post("/api/v1/tickets", json={"service_id": world.ktp.id},
                        headers=auth(world.kiosk_token))).json()
    for path in (f"/t/{t['tracking_code']}", f"/survey/{t['tracking_code']}"):
        r = await api.get(path)
        assert r.status_code == 200, (path, r.text)
        lapor = re.search(r'id="complaints-lapor">.*?href="([^"]+)"', r.text, re.S)
        own = re.search(r'id="complaints-service">.*?href="([^"]+)"', r.text, re.S)
        assert lapor and lapor.group(1) == "https://lapor.example/mpp-uji", path
        assert own and own.group(1) == "https://pengaduan.dukcapil.example/ktp", path
    # A channel that is not a link is shown as text; a service without one shows LAPOR! only.
    await api.patch(f"/api/v1/services/{world.ktp.id}", headers=admin,
                    json={"complaints": "Meja pengaduan lantai 1"})
    r = await api.get(f"/t/{t['tracking_code']}")
    assert "Meja pengaduan lantai 1" in r.text and 'id="complaints-lapor"' in r.text
    k = (await api.post("/api/v1/tickets", json={"service_id": world.kk.id},
                        headers=auth(world.kiosk_token))).json()
    r = await api.get(f"/t/{k['tracking_code']}")
    assert 'id="complaints-service"' not in r.text and 'id="complaints-lapor"' in r.text
