"""integration: SKM follow-up register (tindak lanjut) and partner API keys

Revision ID: integ01
Revises: outbox01
Create Date: 2026-12-01 20:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'integ01'
down_revision: str | None = 'outbox01'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "skm_follow_up",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("site_id", sa.Integer(), sa.ForeignKey("site.id", name="fk_skm_follow_up_site_id_site"), nullable=False),
        sa.Column("agency_id", sa.Integer(), sa.ForeignKey("agency.id", name="fk_skm_follow_up_agency_id_agency"), nullable=False),
        sa.Column("service_id", sa.Integer(), sa.ForeignKey("service.id", name="fk_skm_follow_up_service_id_service"), nullable=True),
        sa.Column("period_from", sa.Date(), nullable=False),
        sa.Column("period_to", sa.Date(), nullable=False),
        sa.Column("unsur", sa.String(3), nullable=False),
        sa.Column("nrr", sa.Float(), nullable=True),
        sa.Column("action", sa.String(1000), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("result_note", sa.String(1000), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_skm_follow_up"),
    )
    op.create_index("ix_skm_follow_up_site_period", "skm_follow_up", ["site_id", "period_to"])
    op.create_index("ix_skm_follow_up_agency_id", "skm_follow_up", ["agency_id"])
    op.create_table(
        "partner_key",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("site_id", sa.Integer(), sa.ForeignKey("site.id", name="fk_partner_key_site_id_site"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("key_prefix", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(128), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("service_ids", sa.JSON(), nullable=True),
        sa.Column("rate_per_minute", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("user_account.id", name="fk_partner_key_created_by_user_account"), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_ip", sa.String(64), nullable=True),
        sa.Column("use_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_partner_key"),
        sa.UniqueConstraint("key_hash", name="uq_partner_key_key_hash"),
    )
    op.create_index("ix_partner_key_site_id", "partner_key", ["site_id"])


def downgrade() -> None:
    op.drop_table("partner_key")
    op.drop_table("skm_follow_up")
