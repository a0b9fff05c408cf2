"""The front page links every screen, in Indonesian and English."""

from __future__ import annotations


async def test_home_links_every_screen(api):
    r = await api.get("/")
    assert r.status_code == 200
    for path in ("/kiosk", "/display", "/booking", "/counter", "/dashboard", "/admin", "/docs"):
        assert f'href="{path}"' in r.text
    assert "Kiosk ambil nomor antrean" in r.text
    r = await api.get("/?lang=en")
    assert "Ticket kiosk" in r.text and "Kiosk ambil nomor antrean" not in r.text
