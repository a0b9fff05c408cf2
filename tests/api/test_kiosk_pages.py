"""Kiosk shell, its device check, the ticket QR code and the public tracking page (/t/{code})."""

from __future__ import annotations

import json
import re
from pathlib import Path

import segno

from tests.conftest import auth
from tests.support.world import PASSWORD

ROOT = Path(__file__).resolve().parents[2]


async def login(api, username: str) -> str:
    r = await api.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


async def issue(api, world, service_id: int | None = None, **body) -> dict:
    r = await api.post("/api/v1/tickets", json={"service_id": service_id or world.ktp.id, **body},
                       headers=auth(world.kiosk_token))
    assert r.status_code == 201, r.text
    return r.json()


def kiosk_config(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="kiosk-config">(.*?)</script>', html, re.S)
    assert m, "kiosk config block missing"
    return json.loads(m.group(1))


async def test_kiosk_shell_indonesian_by_default_and_english_switch(api, world):
    r = await api.get("/kiosk")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert '<html lang="id">' in r.text and "Pilih instansi yang Anda tuju" in r.text
    assert "Perangkat belum terdaftar" in r.text  # the screen exists, shown by the script
    cfg = kiosk_config(r.text)
    assert cfg["site_code"] == "" and cfg["strings"]["ahead"] == "{n} antrean sebelum Anda"
    r = await api.get("/kiosk?lang=en")
    assert '<html lang="en">' in r.text and "Choose the agency you need" in r.text
    assert kiosk_config(r.text)["strings"]["ahead"] == "{n} ahead of you"
    assert r.cookies.get("mpp_lang") == "en"
    # Every asset is served by the app itself: no CDN on a kiosk LAN.
    for path in ("/kiosk-static/kiosk.js", "/kiosk-static/kiosk.css", "/kiosk-static/track.js",
                 "/kiosk-static/track.css"):
        assert (await api.get(path)).status_code == 200, path
    assert "http://" not in r.text and "https://" not in r.text


async def test_kiosk_site_path_does_not_swallow_other_kiosk_pages(api, world):
    r = await api.get(f"/kiosk/{world.site.code}")
    assert r.status_code == 200 and kiosk_config(r.text)["site_code"] == world.site.code
    r = await api.get("/kiosk/checkin")
    assert kiosk_config(r.text)["start"] == "checkin"  # the kiosk, on its check-in screen
    r = await api.get("/kiosk/<script>")
    assert r.status_code == 404


async def test_device_check_accepts_kiosks_only(api, world, session):
    r = await api.get("/kiosk/api/device", headers=auth(world.kiosk_token))
    assert r.status_code == 200 and r.json() == {"name": "Kiosk 1", "site_code": world.site.code}
    r = await api.get("/kiosk/api/device")
    assert r.status_code == 401 and r.json()["error"]["code"] == "not_authenticated"
    r = await api.get("/kiosk/api/device", headers=auth("dev_not-a-real-token"))
    assert r.status_code == 401
    officer = await login(api, world.officer_d.username)
    r = await api.get("/kiosk/api/device", headers=auth(officer))
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    # A revoked kiosk is refused everywhere the kiosk page looks: it then shows "not registered".
    world.kiosk.is_active = False
    session.commit()
    for path in ("/kiosk/api/device", f"/api/v1/catalog?site_code={world.site.code}"):
        r = await api.get(path, headers=auth(world.kiosk_token))
        assert r.status_code == 401, path
    r = await api.post("/api/v1/tickets", json={"service_id": world.ktp.id},
                       headers=auth(world.kiosk_token))
    assert r.status_code == 401


async def test_ticket_qr_code_points_to_public_tracking_page(api, world):
    t = await issue(api, world)
    r = await api.get(f"/kiosk/qr/{t['tracking_code']}.svg")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    assert b'xmlns="http://www.w3.org/2000/svg"' in r.content
    # Same matrix as a QR code of the tracking URL (segno is deterministic for one input).
    expected = segno.make(f"http://test/t/{t['tracking_code']}", error="m")
    other = segno.make("http://test/t/someone-else", error="m")
    import io

    def svg(qr) -> bytes:
        buf = io.BytesIO()
        qr.save(buf, kind="svg", scale=4, border=2, dark="#000", light="#fff", xmldecl=False,
                omitsize=True)
        return buf.getvalue()

    assert r.content == svg(expected) and r.content != svg(other)
    r = await api.get("/kiosk/qr/unknowncode.svg")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = await api.get("/kiosk/qr/bad%20code!.svg")
    assert r.status_code == 422


async def test_tracking_page_follows_the_ticket(api, world):
    first = await issue(api, world)
    t = await issue(api, world, priority="lansia")
    code = t["tracking_code"]
    r = await api.get(f"/t/{code}")
    assert r.status_code == 200, r.text
    html = r.text
    assert t["number"] in html and "Perekaman KTP-el" in html and "Disdukcapil" in html
    assert "Menunggu panggilan" in html
    assert f"{t['people_ahead']} antrean sebelum Anda" in html
    # "Prioritas" only: the priority group is never shown on a public page.
    assert "Prioritas" in html and "lansia" not in html.lower()
    assert 'id="tr-survey" hidden' in html
    # No personal data: officers' names never reach the public page.
    assert world.officer_d.full_name not in html
    assert r.headers["referrer-policy"] == "no-referrer"

    officer = auth(await login(api, world.officer_d.username))
    assert (await api.post(f"/api/v1/counters/{world.c1.id}/open", headers=officer)).status_code == 200
    r = await api.post(f"/api/v1/counters/{world.c1.id}/call-next", headers=officer)
    # The priority ticket goes first.
    assert r.json()["number"] == t["number"], r.text
    html = (await api.get(f"/t/{code}")).text
    assert "Silakan menuju loket 1" in html and 'data-status="called"' in html
    for action in ("start", "finish"):
        assert (await api.post(f"/api/v1/tickets/{r.json()['id']}/{action}",
                               headers=officer)).status_code == 200
    html = (await api.get(f"/t/{code}")).text
    assert "Layanan selesai" in html
    assert f'href="/survey/{code}"' in html and 'id="tr-survey" hidden' not in html
    html = (await api.get(f"/t/{code}?lang=en")).text
    assert "Service finished. Thank you!" in html and "Fill in the satisfaction survey" in html
    # The first ticket still waits, now with nobody ahead (and ?lang= sticks in a cookie).
    html = (await api.get(f"/t/{first['tracking_code']}")).text
    assert "0 ahead of you" in html
    html = (await api.get(f"/t/{first['tracking_code']}?lang=id")).text
    assert "0 antrean sebelum Anda" in html


async def test_tracking_page_unknown_code_is_404_page(api, world):
    r = await api.get("/t/does-not-exist")
    assert r.status_code == 404 and "Tiket tidak ditemukan" in r.text
    r = await api.get("/t/" + "x" * 65)
    assert r.status_code == 422


async def test_service_name_with_markup_is_escaped_on_tracking_page(api, world, session):
    world.kk.name = "<script>alert(1)</script>"
    session.commit()
    t = await issue(api, world, service_id=world.kk.id)
    html = (await api.get(f"/t/{t['tracking_code']}")).text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


async def test_reopen_hint_for_exhausted_quota(api, world, session):
    world.paspor.daily_quota = 1
    session.commit()
    await issue(api, world, service_id=world.paspor.id)
    r = await api.post("/api/v1/tickets", json={"service_id": world.paspor.id},
                       headers=auth(world.kiosk_token))
    assert r.status_code == 409 and r.json()["error"]["code"] == "quota_exhausted"
    r = await api.get(f"/kiosk/api/reopen/{world.paspor.id}")
    assert r.status_code == 200
    body = r.json()
    # Open at all hours: numbers come back at the start of the site's next day.
    assert body["next_opening"].endswith("T00:00:00+07:00")
    assert body["hint"].startswith("buka kembali besok")
    assert (await api.get("/kiosk/api/reopen/999999")).status_code == 404


def test_every_kiosk_string_has_an_english_translation():
    from babel.messages.pofile import read_po
    from jinja2.ext import babel_extract

    catalog = {}
    for po in ("kiosk.po", "citizen.po"):
        with (ROOT / "app/locale/en/LC_MESSAGES" / po).open("rb") as fh:
            for m in read_po(fh, locale="en"):
                catalog[m.id] = m
    missing = []
    for name in ("kiosk.html", "track.html"):
        with (ROOT / "kiosk_ui/templates" / name).open("rb") as fh:
            for _, _, msg, _ in babel_extract(fh, ["_", "gettext"], [],
                                              {"extensions": "jinja2.ext.i18n"}):
                entry = catalog.get(msg)
                if entry is None or not entry.string:
                    missing.append(msg)
    assert missing == []


def test_tracking_code_url_is_stable():
    # The printed QR must keep working: the public path is part of the contract.
    from kiosk_ui.routes import router

    paths = {getattr(r, "path", "") for r in router.routes}
    assert {"/t/{tracking_code}", "/kiosk", "/kiosk/qr/{tracking_code}.svg"} <= paths
