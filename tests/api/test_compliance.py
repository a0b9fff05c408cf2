"""Issue 18 over the API: priority groups of UU 25/2009, the public service page."""

from __future__ import annotations

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
