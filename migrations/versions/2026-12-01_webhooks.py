"""webhooks: endpoints (subscriptions) and the delivery-attempt log; deliveries are outbox rows

Revision ID: webhook01
Revises: sessver01
Create Date: 2026-12-01 21:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'webhook01'
down_revision: str | None = 'sessver01'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "webhook_endpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), sa.ForeignKey("site.id", name="fk_webhook_endpoint_site_id_site"), nullable=False),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("description", sa.String(200), nullable=True),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("secret", sa.String(100), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("user_account.id", name="fk_webhook_endpoint_created_by_user_account"), nullable=True),
        sa.Column("failing_since", TS, nullable=True),
        sa.Column("disabled_at", TS, nullable=True),
        sa.Column("disabled_reason", sa.String(300), nullable=True),
        sa.Column("last_success_at", TS, nullable=True),
        sa.Column("last_failure_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_endpoint"),
    )
    op.create_index("ix_webhook_endpoint_site_id", "webhook_endpoint", ["site_id"])
    op.create_table(
        "webhook_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), sa.ForeignKey("outbox.id", name="fk_webhook_attempt_outbox_id_outbox"), nullable=False),
        sa.Column("endpoint_id", sa.Integer(), sa.ForeignKey("webhook_endpoint.id", name="fk_webhook_attempt_endpoint_id_webhook_endpoint"), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response_ms", sa.Integer(), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error", sa.String(300), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_attempt"),
    )
    op.create_index("ix_webhook_attempt_outbox", "webhook_attempt", ["outbox_id", "id"])
    op.create_index("ix_webhook_attempt_endpoint", "webhook_attempt", ["endpoint_id", "id"])
    # An endpoint's deliveries (the outbox rows whose target is its id), newest first.
    op.create_index("ix_outbox_kind_target", "outbox", ["kind", "target", "id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_kind_target", table_name="outbox")
    op.drop_table("webhook_attempt")
    op.drop_table("webhook_endpoint")
