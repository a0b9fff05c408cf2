"""A citizen's opt-in phone: normalised to international digits, refused without consent.

UU 27/2022 (Pelindungan Data Pribadi): the number is processed only with explicit consent to a
stated purpose; the text shown is versioned so each consent can be traced to its wording."""

from __future__ import annotations

import phonenumbers

from app.domain.errors import InvalidValue

# The consent sentence shown beside every phone field; bump the version when it changes.
CONSENT_VERSION = "2026-12-01"
CONSENT_TEXT_ID = ("Saya setuju nomor telepon saya diproses untuk pemberitahuan antrean ini "
                   "sesuai UU No. 27 Tahun 2022 tentang Pelindungan Data Pribadi; nomor "
                   "dihapus setelah masa simpan berakhir.")
CONSENT_TEXT_EN = ("I agree that my phone number is processed for this queue's notifications "
                   "under Law No. 27 of 2022 on Personal Data Protection; the number is "
                   "deleted when the retention period ends.")


def normalize_phone(raw: str, region: str = "ID") -> str:
    """'0812-3456-7890' -> '6281234567890' (E.164 digits without the plus)."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise InvalidValue("phone", "nomor telepon tidak valid (contoh 0812xxxxxxxx)",
                           "invalid phone number (e.g. 0812xxxxxxxx)")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164).lstrip("+")


def require_consent(consent: bool) -> None:
    if consent is not True:
        raise InvalidValue("consent", "persetujuan pemrosesan data pribadi diperlukan",
                           "consent to processing personal data is required")


def mask_phone(phone: str | None) -> str | None:
    """6281234567890 -> 6281******890: keeps the first 4 and the last 3 digits (not 4), for
    staff screens only; public screens show no phone."""
    if not phone:
        return None
    return phone[:4] + "*" * max(0, len(phone) - 7) + phone[-3:]
