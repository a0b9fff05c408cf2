"""Public online booking page (/booking, mobile-first).

A shell: its script talks to /api/v1/booking* and /api/v1/bookings*, with no sign-in. The
booking check-in is a screen of the kiosk (/kiosk/checkin, kiosk_ui/routes.py).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.domain import contact
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
    "legend_contact": "Nama dan nomor telepon (wajib untuk layanan ini)",
    "legend_phone_required": "Nomor telepon terverifikasi (wajib untuk layanan ini)",
    "legend_phone_optional": "Pemberitahuan WhatsApp/SMS (tidak wajib)",
    "hint_phone_required": "Nomor Anda tidak pernah tampil di layar umum.",
    "hint_phone_optional": ("Kosongkan bila tidak ingin menerima pesan. Nomor Anda tidak pernah "
                            "tampil di layar umum."),
    "err_name": "Tulis nama Anda.",
    "err_phone": "Nomor telepon ini tidak bisa dipakai. Contoh yang benar: 0812 3456 7890.",
    "err_phone_required": "Tulis nomor telepon Anda.",
    "err_consent": "Centang persetujuan ini agar nomor Anda boleh kami proses.",
    "err_otp_code": "Kode verifikasi salah atau sudah kedaluwarsa. Minta kode baru bila perlu.",
    "err_otp_missing": "Tekan \"Kirim kode\", lalu tulis kode yang Anda terima.",
    "otp_sent": "Kode sudah dikirim ke nomor Anda. Berlaku 10 menit.",
    "fix_fields": "Periksa isian yang ditandai di atas.",
    "check_input": "Periksa kembali isian Anda.",
}

def _strings(request: Request, table: dict[str, str]) -> dict[str, str]:
    t = translations(page_lang(request))
    return {k: t.gettext(v) for k, v in table.items()}


CONSENT_CONTACT = ("Saya setuju nama dan nomor telepon saya diproses oleh MPP hanya untuk "
                   "pemesanan antrean ini, sesuai UU No. 27 Tahun 2022 tentang Pelindungan Data "
                   "Pribadi. Data dihapus setelah masa simpan berakhir.")


@router.get("/booking", response_class=HTMLResponse)
def booking_page(request: Request) -> HTMLResponse:
    lang = page_lang(request)
    config: dict[str, Any] = {
        "lang": lang,
        "site_code": request.query_params.get("site") or None,
        "code": request.query_params.get("code") or None,
        "strings": _strings(request, BOOKING_STRINGS),
        # UU 27/2022: the sentence beside the phone, as recorded with the consent
        # (app/domain/contact.py); a service that asks for name and phone has its own.
        "consent_optin": (contact.CONSENT_TEXT_EN if lang == "en" else contact.CONSENT_TEXT_ID),
        "consent_contact": translations(lang).gettext(CONSENT_CONTACT),
    }
    response = render_page(request, "booking.html", config=config)
    ensure_device_cookie(request, response)
    return response

