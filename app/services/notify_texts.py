"""What citizens' messages say, per message type. Source strings are Indonesian; English comes
from the Babel catalog app/locale/en/LC_MESSAGES/notify.po (like every screen's text).

A WhatsApp template gets the same values as body parameters, in PARAMS order, so a template
approved by Meta says what the text says."""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

_PO = Path(__file__).resolve().parent.parent / "locale" / "en" / "LC_MESSAGES" / "notify.po"

TEXTS = {
    "ticket_taken": "Nomor antrean {number} untuk {service}. Pantau antrean Anda: {link}",
    "ticket_ahead": "{ahead} orang lagi sebelum nomor {number} ({service}). "
                    "Mohon bersiap di dekat loket.",
    "ticket_called": "Nomor {number} dipanggil ke loket {counter}, {place}. "
                     "Silakan menuju loket.",
    "visit_step": "Langkah berikutnya: {service}, nomor {number}. Pantau: {link}",
    "ticket_done": "Terima kasih. Mohon nilai layanan kami: {link}",
    "booking_confirmed": "Pemesanan {code} untuk {service} pada {when} tercatat. "
                         "Check-in di kiosk MPP saat tiba.",
    "booking_reminder_day": "Pengingat: besok {when}, {service} (kode {code}).",
    "booking_reminder_hour": "Pengingat: satu jam lagi ({when}), {service} (kode {code}).",
    "booking_cancelled": "Pemesanan {code} untuk {service} pada {when} dibatalkan.",
    "otp_code": "Kode verifikasi MPP Anda: {code}. Berlaku {minutes} menit. "
                "Jangan berikan kode ini kepada siapa pun.",
}
TYPES = tuple(TEXTS)
PARAMS = {
    "ticket_taken": ("number", "service", "link"),
    "ticket_ahead": ("ahead", "number", "service"),
    "ticket_called": ("number", "counter", "place"),
    "visit_step": ("service", "number", "link"),
    "ticket_done": ("link",),
    "booking_confirmed": ("code", "service", "when"),
    "booking_reminder_day": ("when", "service", "code"),
    "booking_reminder_hour": ("when", "service", "code"),
    "booking_cancelled": ("code", "service", "when"),
    "otp_code": ("code", "minutes"),
}
# Parts of a message translated on their own.
PLACE = "lantai {floor}, zona {zone}"
PLACE_FLOOR = "lantai {floor}"


@lru_cache
def _catalog(lang: str) -> NullTranslations:
    if lang != "en" or not _PO.exists():
        return NullTranslations()
    with _PO.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(buf)


def gettext(lang: str, text: str) -> str:
    return _catalog(lang).gettext(text)


def place(lang: str, floor: str | None, zone: str | None) -> str:
    if floor and zone:
        return gettext(lang, PLACE).format(floor=floor, zone=zone)
    if floor:
        return gettext(lang, PLACE_FLOOR).format(floor=floor)
    return zone or ""


def render(message_type: str, lang: str, params: dict[str, Any]) -> str:
    text = gettext(lang, TEXTS[message_type])
    values = {name: params.get(name, "") for name in PARAMS[message_type]}
    return text.format(**values).replace(", .", ".").strip()


def ordered_params(message_type: str, params: dict[str, Any]) -> list[str]:
    return [str(params.get(name, "")) for name in PARAMS[message_type]]
