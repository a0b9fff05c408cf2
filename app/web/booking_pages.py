"""Public online booking page (/booking, mobile-first).

A shell: its script talks to /api/v1/booking* and /api/v1/bookings*, with no sign-in. The
booking check-in is a screen of the kiosk (/kiosk/checkin, kiosk_ui/routes.py).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.web.i18n import translations
from app.web.pages import ensure_device_cookie, render_page
from app.web.templating import page_lang

router = APIRouter(include_in_schema=False)

# Strings the scripts show; translated here so the .po catalog holds them all.
BOOKING_STRINGS = {
    "slots_left": "sisa {n}",
    "slot_full": "penuh",
    "no_slots": "Tidak ada slot pada tanggal ini.",
    "closed_day": "Layanan tutup pada tanggal ini",
    "fee": "Biaya",
    "requirements": "Persyaratan",
    "completion": "Jangka waktu",
    "procedure": "Sistem, mekanisme dan prosedur",
    "product": "Produk layanan",
    "complaints": "Penanganan pengaduan, saran dan masukan",
    "service_page": "Standar pelayanan lengkap (dapat dicetak)",
    "none": "-",
    "booked_title": "Pemesanan berhasil",
    "checkin_window": "Check-in di kiosk MPP antara {from} dan {to}.",
    "status_booked": "Terpesan",
    "status_checked_in": "Sudah check-in",
    "status_cancelled": "Dibatalkan",
    "status_no_show": "Tidak hadir",
    "status_late": "Terlambat (antrean biasa)",
    "cancel_confirm": "Batalkan pemesanan ini?",
    "cancelled": "Pemesanan dibatalkan.",
    "network_error": "Tidak dapat terhubung ke server. Coba lagi.",
    "choose_slot": "Pilih slot waktu terlebih dahulu.",
}

def _strings(request: Request, table: dict[str, str]) -> dict[str, str]:
    t = translations(page_lang(request))
    return {k: t.gettext(v) for k, v in table.items()}


@router.get("/booking", response_class=HTMLResponse)
def booking_page(request: Request) -> HTMLResponse:
    config: dict[str, Any] = {
        "lang": page_lang(request),
        "site_code": request.query_params.get("site") or None,
        "code": request.query_params.get("code") or None,
        "strings": _strings(request, BOOKING_STRINGS),
    }
    response = render_page(request, "booking.html", config=config)
    ensure_device_cookie(request, response)
    return response

