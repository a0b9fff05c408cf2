"""Domain errors with stable machine codes and bilingual human messages.

One table holds every code, its HTTP status and its message in Indonesian and English, so the
API's error handler has exactly one place to look.
"""

from __future__ import annotations

from typing import Any

# code -> (http status, Indonesian template, English template)
ERRORS: dict[str, tuple[int, str, str]] = {
    "not_found": (404, "{what} tidak ditemukan", "{what} not found"),
    "validation_error": (422, "Data yang dikirim tidak valid", "The submitted data is invalid"),
    "invalid_value": (422, "{field}: {reason_id}", "{field}: {reason_en}"),
    "invalid_transition": (
        409,
        "Tiket berstatus '{status}' tidak dapat diproses dengan aksi '{action}'",
        "A ticket in status '{status}' does not allow the action '{action}'",
    ),
    "quota_exhausted": (
        409,
        "Kuota layanan{service_label} hari ini sudah habis{next_hint_id}",
        "Today's quota for the service{service_label} is exhausted{next_hint_en}",
    ),
    "service_closed": (
        409,
        "Layanan{service_label} sedang tutup{next_hint_id}",
        "The service{service_label} is closed now{next_hint_en}",
    ),
    "too_many_steps": (
        422,
        "Satu kunjungan paling banyak {max} layanan",
        "A visit has at most {max} services",
    ),
    "duplicate_step": (
        422,
        "Layanan ini sudah ada dalam kunjungan",
        "This service is already part of the visit",
    ),
    "step_not_pending": (
        409,
        "Hanya langkah yang belum dimulai yang dapat diubah",
        "Only steps that have not started can be changed",
    ),
    "invalid_step_order": (
        422,
        "Urutan harus memuat setiap langkah yang belum dimulai, masing-masing sekali",
        "The order must list every step not started yet, each once",
    ),
    "visit_over": (409, "Kunjungan ini sudah selesai", "This visit is over"),
    "service_inactive": (409, "Layanan tidak aktif", "The service is not active"),
    "already_queued": (
        409,
        "Anda sudah memegang nomor antrean untuk layanan ini hari ini",
        "You already hold a queue number for this service today",
    ),
    "phone_required": (
        422,
        "Layanan ini memerlukan nomor ponsel yang dikonfirmasi dengan kode verifikasi",
        "This service needs a phone number confirmed with a verification code",
    ),
    "join_code_expired": (
        410,
        "Kode QR sudah kedaluwarsa; pindai lagi kode di layar MPP",
        "The QR code has expired; scan the code on the MPP screen again",
    ),
    "late_used": (409, "Penundaan hanya bisa sekali", "A ticket can be moved back only once"),
    "counter_closed": (409, "Loket belum dibuka", "The counter is not open"),
    "counter_on_break": (409, "Loket sedang istirahat; akhiri istirahat untuk memanggil",
                         "The counter is on break; end the break to call"),
    "counter_busy": (
        409,
        "Selesaikan dulu tiket {number} di loket ini",
        "Finish ticket {number} at this counter first",
    ),
    "counter_in_use": (
        409,
        "Loket sedang dipakai oleh {officer}",
        "The counter is in use by {officer}",
    ),
    "counter_not_serving_service": (
        409,
        "Loket ini tidak melayani layanan tersebut",
        "This counter does not serve that service",
    ),
    "ticket_not_at_counter": (
        409,
        "Tiket ini tidak sedang ditangani loket Anda",
        "This ticket is not handled by your counter",
    ),
    "prefix_taken": (
        409,
        "Prefiks '{prefix}' sudah dipakai layanan lain di lokasi ini",
        "Prefix '{prefix}' is already used by another service at this site",
    ),
    "prefix_used_today": (
        409,
        "Prefiks '{prefix}' sudah dipakai tiket layanan lain hari ini; pakai besok atau pilih "
        "prefiks lain",
        "Prefix '{prefix}' is on another service's tickets today; use it from tomorrow or "
        "choose another",
    ),
    "code_taken": (409, "Kode '{code}' sudah dipakai", "Code '{code}' is already taken"),
    "username_taken": (
        409,
        "Nama pengguna '{username}' sudah dipakai",
        "Username '{username}' is already taken",
    ),
    "idempotency_conflict": (
        409,
        "Idempotency-Key ini sudah dipakai untuk permintaan lain",
        "This Idempotency-Key was already used for a different request",
    ),
    "not_authenticated": (401, "Silakan masuk terlebih dahulu", "Please sign in first"),
    "invalid_credentials": (
        401,
        "Nama pengguna atau kata sandi salah",
        "Wrong username or password",
    ),
    "account_locked": (
        429,
        "Terlalu banyak percobaan gagal; coba lagi dalam {seconds} detik",
        "Too many failed attempts; try again in {seconds} seconds",
    ),
    "forbidden": (403, "Anda tidak berhak melakukan ini", "You are not allowed to do this"),
    "csrf_failed": (
        403,
        "Sesi formulir tidak valid; muat ulang halaman",
        "The form session is invalid; reload the page",
    ),
    "survey_not_allowed": (
        409,
        "Survei hanya untuk tiket yang sudah selesai dilayani",
        "The survey is only for tickets that have been served",
    ),
    "survey_staff_session": (
        403,
        "Survei diisi oleh warga sendiri (kode pada tiket atau tablet loket), bukan dari akun"
        " petugas",
        "The survey is answered by the citizen (the code on the ticket or the counter tablet),"
        " not from a staff account",
    ),
    "survey_not_pending": (
        409,
        "Survei tiket ini tidak lagi ditawarkan di tablet loket ini",
        "This ticket's survey is no longer offered at this counter tablet",
    ),
    "survey_already_submitted": (
        409,
        "Survei untuk tiket ini sudah diisi",
        "The survey for this ticket was already submitted",
    ),
    "rate_limited": (
        429,
        "Terlalu banyak permintaan; coba lagi dalam {seconds} detik",
        "Too many requests; try again in {seconds} seconds",
    ),
    "booking_already_held": (
        409,
        "Nomor telepon ini sudah memiliki pemesanan aktif untuk layanan ini; batalkan yang lama "
        "atau datang sesuai jadwalnya",
        "This phone number already holds an open booking for this service; cancel it or come "
        "at its time",
    ),
    "slot_full": (409, "Slot waktu ini sudah penuh", "This time slot is full"),
    "booking_not_allowed": (409, "{reason_id}", "{reason_en}"),
    "booking_quota_exhausted": (
        409,
        "Kuota antrean online untuk tanggal ini sudah habis",
        "The online booking quota for this date is used up",
    ),
    "booking_too_early": (
        409,
        "Terlalu awal: check-in dibuka pukul {opens_at_id}. Silakan tunggu.",
        "Too early: check-in opens at {opens_at_en}. Please wait.",
    ),
    "booking_expired": (
        409,
        "Waktu check-in pemesanan ini sudah lewat (sampai {closed_at_id}); ambil antrean biasa",
        "The check-in window of this booking has passed ({closed_at_en}); take a regular ticket",
    ),
    "booking_state": (
        409,
        "Pemesanan ini berstatus '{status}' dan tidak dapat {action_id}",
        "This booking is '{status}' and cannot be {action_en}",
    ),
    "database_unavailable": (
        503,
        "Basis data sedang tidak tersedia; coba lagi sebentar",
        "The database is unavailable; try again shortly",
    ),
    "target_refused": (
        422,
        "Alamat webhook ditolak: {reason}",
        "The webhook target is refused: {reason}",
    ),
    "payload_too_large": (413, "Data terlalu besar", "The request is too large"),
    "method_not_allowed": (405, "Metode tidak diizinkan", "Method not allowed"),
    "http_error": (400, "Permintaan tidak valid", "Bad request"),
    "internal_error": (
        500,
        "Terjadi kesalahan di server",
        "Something went wrong on the server",
    ),
}


class _SafeDict(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


class DomainError(Exception):
    """A rule was broken; carries a stable code and parameters for the message."""

    def __init__(self, code: str, /, **params: Any) -> None:
        if code not in ERRORS:
            raise ValueError(f"unknown error code {code!r}")
        self.code = code
        self.params = params
        super().__init__(self.message("en"))

    @property
    def status(self) -> int:
        return ERRORS[self.code][0]

    def message(self, lang: str = "id") -> str:
        _, msg_id, msg_en = ERRORS[self.code]
        template = msg_en if lang == "en" else msg_id
        return template.format_map(_SafeDict(self.params))


class NotFound(DomainError):
    def __init__(self, what_id: str, what_en: str | None = None) -> None:
        self._what_en = what_en or what_id
        super().__init__("not_found", what=what_id)

    def message(self, lang: str = "id") -> str:
        if lang == "en":
            return ERRORS["not_found"][2].format(what=self._what_en)
        return super().message(lang)


class InvalidTransition(DomainError):
    def __init__(self, status: str, action: str) -> None:
        super().__init__("invalid_transition", status=status, action=action)


class InvalidValue(DomainError):
    def __init__(self, field: str, reason_id: str, reason_en: str | None = None) -> None:
        super().__init__(
            "invalid_value", field=field, reason_id=reason_id, reason_en=reason_en or reason_id
        )
