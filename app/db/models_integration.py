"""Tables of the integration features: the SKM follow-up register and partner API keys.

Kept apart from models.py (which other features edit); imported at its end so that
Base.metadata holds them for Alembic and the tests.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models import Base, utcnow


class FollowUp(Base):
    """Tindak lanjut SKM: the action planned for a low unsur, published with the result."""

    __tablename__ = "skm_follow_up"
    __table_args__ = (sa.Index("ix_skm_follow_up_site_period", "site_id", "period_to"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("site.id"))
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"), index=True)
    service_id: Mapped[int | None] = mapped_column(sa.ForeignKey("service.id"))
    # The SKM period the finding comes from (inclusive, site-local days).
    period_from: Mapped[date]
    period_to: Mapped[date]
    unsur: Mapped[str] = mapped_column(sa.String(3))
    # The NRR of the unsur that prompted the action, as published (optional).
    nrr: Mapped[float | None]
    action: Mapped[str] = mapped_column(sa.String(1000))
    # A position or unit, not a person's name: the register is public.
    owner: Mapped[str] = mapped_column(sa.String(200))
    due_date: Mapped[date]
    status: Mapped[str] = mapped_column(sa.String(16), default="planned")
    result_note: Mapped[str | None] = mapped_column(sa.String(1000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    is_active: Mapped[bool] = mapped_column(default=True)


class PartnerKey(Base):
    """A scoped API key for another system (an agency's app, a city dashboard)."""

    __tablename__ = "partner_key"
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("site.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    # The first characters of the key, to recognise it in lists; the key itself is not kept.
    key_prefix: Mapped[str] = mapped_column(sa.String(16))
    key_hash: Mapped[str] = mapped_column(sa.String(128), unique=True)
    scopes: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    # issue:tickets is limited to these services (null: none).
    service_ids: Mapped[list[Any] | None] = mapped_column(sa.JSON)
    rate_per_minute: Mapped[int] = mapped_column(default=60)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    last_used_ip: Mapped[str | None] = mapped_column(sa.String(64))
    use_count: Mapped[int] = mapped_column(default=0)
