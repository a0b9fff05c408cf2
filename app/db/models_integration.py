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


class WebhookEndpoint(Base):
    """A subscription: where a site's events go, which ones, and the signing secret."""

    __tablename__ = "webhook_endpoint"
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("site.id"), index=True)
    url: Mapped[str] = mapped_column(sa.String(500))
    description: Mapped[str | None] = mapped_column(sa.String(200))
    events: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    # Kept as given (whsec_ + base64): signing needs it; shown to people only at creation.
    secret: Mapped[str] = mapped_column(sa.String(100))
    is_active: Mapped[bool] = mapped_column(default=True)
    deleted: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    # Failing without a success since; switched off (disabled_at) after a day of it.
    failing_since: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]
    disabled_reason: Mapped[str | None] = mapped_column(sa.String(300))
    last_success_at: Mapped[datetime | None]
    last_failure_at: Mapped[datetime | None]


class WebhookAttempt(Base):
    """The delivery log: one row per HTTP attempt of an outbox row (a delivery)."""

    __tablename__ = "webhook_attempt"
    __table_args__ = (sa.Index("ix_webhook_attempt_outbox", "outbox_id", "id"),
                      sa.Index("ix_webhook_attempt_endpoint", "endpoint_id", "id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int] = mapped_column(sa.ForeignKey("outbox.id"))
    endpoint_id: Mapped[int] = mapped_column(sa.ForeignKey("webhook_endpoint.id"))
    at: Mapped[datetime]
    status_code: Mapped[int | None]
    response_ms: Mapped[int | None]
    ok: Mapped[bool] = mapped_column(default=False)
    error: Mapped[str | None] = mapped_column(sa.String(300))
