"""The audit log in words: "admin mengubah layanan A · Kartu Keluarga", with named changes.

The log stores codes and ids (stable, filterable); readers get a sentence and one line per
changed field with names instead of ids, in Indonesian or English.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.db.models import Agency, Counter, Device, DisplayBoard, Service, Site, User

ACTIONS: dict[str, tuple[str, str]] = {
    "create": ("menambahkan", "added"),
    "update": ("mengubah", "changed"),
    "delete": ("menghapus", "deleted"),
    "deactivate": ("menonaktifkan", "deactivated"),
    "revoke": ("mencabut token", "revoked the token of"),
    "login": ("masuk", "signed in"),
    "login_failed": ("gagal masuk", "failed to sign in"),
    "logout": ("keluar", "signed out"),
    "counter_open": ("membuka", "opened"),
    "close_day": ("menutup hari di", "closed the day at"),
    "purge": ("membersihkan", "purged"),
    "view": ("melihat", "viewed"),
    "prefill": ("mengisi libur nasional", "pre-filled national holidays for"),
    "survey_paper": ("memasukkan kuesioner kertas", "entered paper questionnaires for"),
}

ENTITIES: dict[str, tuple[str, str]] = {
    "site": ("lokasi", "site"),
    "agency": ("instansi", "agency"),
    "service": ("layanan", "service"),
    "counter": ("loket", "counter"),
    "user": ("pengguna", "user"),
    "display_board": ("papan display", "display board"),
    "board": ("papan display", "display board"),
    "device": ("perangkat", "device"),
    "special_day": ("hari khusus", "special day"),
    "setting": ("pengaturan", "setting"),
    "booking_list": ("daftar pemesanan", "booking list"),
    "booking_policy": ("kebijakan pemesanan", "booking policy"),
    "personal_data": ("data pribadi", "personal data"),
    "skm_follow_up": ("tindak lanjut SKM", "SKM follow-up"),
    "survey": ("survei", "survey"),
}

FIELDS: dict[str, tuple[str, str]] = {
    "code": ("kode", "code"), "name": ("nama", "name"), "prefix": ("prefiks", "prefix"),
    "timezone": ("zona waktu", "time zone"), "address": ("alamat", "address"),
    "max_consecutive_priority": ("maks. prioritas berturut-turut", "max priority in a row"),
    "require_display_token": ("papan wajib token", "boards need a token"),
    "agency_id": ("instansi", "agency"), "site_id": ("lokasi", "site"),
    "service_ids": ("layanan", "services"), "agency_ids": ("instansi", "agencies"),
    "board_id": ("papan", "board"), "daily_quota": ("kuota harian", "daily quota"),
    "typical_minutes": ("lama layanan (menit)", "typical minutes"),
    "opening_hours": ("jam buka", "opening hours"), "requirements": ("persyaratan", "requirements"),
    "procedure": ("prosedur", "procedure"), "completion_time": ("jangka waktu", "completion time"),
    "fee": ("biaya", "fee"), "product": ("produk", "product"),
    "complaints": ("penanganan pengaduan", "complaints handling"),
    "booking_enabled": ("bisa dipesan daring", "bookable online"),
    "priority_sick": ("prioritas orang sakit", "priority for the sick"),
    "requires_phone_otp": ("wajib nomor telepon terverifikasi", "confirmed phone required"),
    "is_active": ("aktif", "active"), "number": ("nomor", "number"), "zone": ("zona", "zone"),
    "floor": ("lantai", "floor"), "color": ("warna", "colour"), "role": ("peran", "role"),
    "full_name": ("nama lengkap", "full name"), "username": ("nama pengguna", "username"),
    "password": ("kata sandi", "password"), "day": ("tanggal", "date"),
    "ranges": ("jam", "hours"), "note": ("keterangan", "note"), "kind": ("jenis", "kind"),
    "layout": ("tata letak", "layout"), "running_text": ("teks berjalan", "running text"),
}

_YES_NO = {"id": ("ya", "tidak"), "en": ("yes", "no")}
_EMPTY = {"id": "(kosong)", "en": "(empty)"}
_SOMEONE = {"id": "sistem", "en": "the system"}


def _pick(pair: tuple[str, str], lang: str) -> str:
    return pair[1] if lang == "en" else pair[0]


def action_label(code: str, lang: str) -> str:
    return _pick(ACTIONS[code], lang) if code in ACTIONS else code.replace("_", " ")


def entity_label(code: str, lang: str) -> str:
    return _pick(ENTITIES[code], lang) if code in ENTITIES else code.replace("_", " ")


class _Names:
    """Names of the ids a page of rows mentions, fetched once per table."""

    def __init__(self, session: Session, rows: Iterable[dict[str, Any]]) -> None:
        want: dict[str, set[int]] = {k: set() for k in
                                     ("site", "agency", "service", "counter", "user", "board",
                                      "device")}
        alias = {"display_board": "board"}
        for r in rows:
            kind = alias.get(r["entity"], r["entity"])
            if r["entity_id"] is not None and kind in want:
                want[kind].add(r["entity_id"])
            for key, value in (r["changes"] or {}).items():
                target = {"agency_id": "agency", "site_id": "site", "board_id": "board",
                          "service_ids": "service", "agency_ids": "agency"}.get(key)
                if target is None:
                    continue
                for v in value if isinstance(value, list) else [value]:
                    if isinstance(v, int) and not isinstance(v, bool):
                        want[target].add(v)
        self.names: dict[str, dict[int, str]] = {}
        queries = {
            "site": sa.select(Site.id, Site.name),
            "agency": sa.select(Agency.id, Agency.name),
            "service": sa.select(Service.id, Service.prefix + " · " + Service.name),
            "counter": sa.select(Counter.id, Counter.name),
            "user": sa.select(User.id, User.username),
            "board": sa.select(DisplayBoard.id, DisplayBoard.name),
            "device": sa.select(Device.id, Device.name),
        }
        for kind, ids in want.items():
            if not ids:
                self.names[kind] = {}
                continue
            stmt = queries[kind]
            id_col = stmt.selected_columns[0]
            self.names[kind] = {i: n for i, n in session.execute(stmt.where(id_col.in_(ids)))}

    def of(self, kind: str, ident: int) -> str:
        return self.names.get(kind, {}).get(ident, f"#{ident}")


def _value(key: str, value: Any, names: _Names, lang: str) -> str:
    ref = {"agency_id": "agency", "site_id": "site", "board_id": "board",
           "service_ids": "service", "agency_ids": "agency"}.get(key)
    if value is None or value == "" or value == []:
        return _EMPTY[lang]
    if isinstance(value, bool):
        return _YES_NO[lang][0 if value else 1]
    if ref is not None:
        items = value if isinstance(value, list) else [value]
        return ", ".join(names.of(ref, v) if isinstance(v, int) else str(v) for v in items)
    if key == "opening_hours" and isinstance(value, dict):
        return "; ".join(f"{d} " + ", ".join("-".join(r) for r in rs) for d, rs in value.items())
    if key == "ranges" and isinstance(value, list):
        return ", ".join("-".join(r) for r in value) or _EMPTY[lang]
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def describe(session: Session, rows: list[dict[str, Any]], lang: str) -> None:
    """Add "summary" (one sentence) and "details" (one line per change) to each row."""
    names = _Names(session, rows)
    alias = {"display_board": "board"}
    for r in rows:
        who = r["username"] or _SOMEONE[lang]
        entity = r["entity"]
        kind = alias.get(entity, entity)
        target = entity_label(entity, lang)
        changes = r["changes"] or {}
        if r["entity_id"] is not None and kind in names.names:
            target += " " + names.of(kind, r["entity_id"])
        elif entity == "special_day" and changes.get("day"):
            target += " " + str(changes["day"])
        elif entity == "setting" and changes.get("key"):
            target += " " + str(changes["key"])
        if r["action"] in ("login", "login_failed", "logout"):
            r["summary"] = f"{who} {action_label(r['action'], lang)}"
        else:
            r["summary"] = f"{who} {action_label(r['action'], lang)} {target}"
        r["details"] = [
            f"{_pick(FIELDS[k], lang) if k in FIELDS else k.replace('_', ' ')}: "
            f"{_value(k, v, names, lang)}"
            for k, v in changes.items() if not (k == "day" and entity == "special_day")
        ]
