"""One-time codes confirming a phone, for services that ask for one (`requires_phone_otp`):
against brokers booking or queueing with made-up numbers.

The code goes out through the outbox like every message; only its HMAC is stored. A code is
good for CODE_MINUTES, MAX_ATTEMPTS tries and one ticket or booking.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.db.models import PhoneCode
from app.domain.errors import DomainError, InvalidValue
from app.services import notify, outbox
from app.services.context import Ctx

CODE_MINUTES = 10
MAX_ATTEMPTS = 5
# Codes per phone per hour (each one is a message someone pays for).
PER_PHONE_HOUR = 3


def _hash(secret: str, code_id_salt: str, code: str) -> str:
    return hmac.new(secret.encode(), f"{code_id_salt}|{code}".encode(),
                    hashlib.sha256).hexdigest()


def request_code(ctx: Ctx, *, secret: str, phone: str, consent: bool,
                 lang: str | None) -> PhoneCode:
    contact = notify.check_contact(phone, consent, lang=lang)
    assert contact.phone is not None and contact.holder is not None
    recent = ctx.session.scalar(sa.select(sa.func.count()).select_from(PhoneCode).where(
        PhoneCode.holder == contact.holder,
        PhoneCode.created_at > ctx.now - timedelta(hours=1))) or 0
    if recent >= PER_PHONE_HOUR:
        raise DomainError("rate_limited", seconds=3600)
    code = f"{secrets.randbelow(10**6):06d}"
    row = PhoneCode(holder=contact.holder, code_hash="", created_at=ctx.now,
                    expires_at=ctx.now + timedelta(minutes=CODE_MINUTES))
    ctx.session.add(row)
    ctx.session.flush()
    row.code_hash = _hash(secret, str(row.id), code)
    outbox.enqueue(ctx.session, kind="message", topic="otp_code", key=f"otp_code:{row.id}",
                   target=contact.phone, now=ctx.now,
                   payload={"type": "otp_code", "lang": contact.lang,
                            "params": {"code": code, "minutes": CODE_MINUTES}})
    return row


def confirm(ctx: Ctx, *, secret: str, contact: notify.Contact, otp_id: int | None,
            code: str | None) -> None:
    """The phone of `contact` holds code `code` of request `otp_id` (used up now)."""
    if contact.phone is None:
        raise InvalidValue("phone", "layanan ini memerlukan nomor telepon terverifikasi",
                           "this service needs a verified phone number")
    wrong = InvalidValue("otp_code", "kode verifikasi salah atau kedaluwarsa",
                         "wrong or expired verification code")
    if otp_id is None or not code:
        raise wrong
    row = ctx.session.get(PhoneCode, otp_id)
    if (row is None or row.holder != contact.holder or row.used_at is not None
            or row.expires_at <= ctx.now or row.attempts > MAX_ATTEMPTS):
        raise wrong
    if not hmac.compare_digest(row.code_hash, _hash(secret, str(row.id), code)):
        raise wrong
    row.used_at = ctx.now


def requested_at(session: Session, otp_id: int) -> datetime | None:
    row = session.get(PhoneCode, otp_id)
    return row.created_at if row is not None else None


def count_attempt(session: Session, otp_id: int) -> None:
    """One try at a code, in its own transaction before the request's (a wrong guess is
    rolled back with its request, its count is not)."""
    session.execute(sa.update(PhoneCode).where(PhoneCode.id == otp_id)
                    .values(attempts=PhoneCode.attempts + 1))
