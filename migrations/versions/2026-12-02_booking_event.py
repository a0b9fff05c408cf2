"""booking_event: a booking's later changes (cancelled), published as webhooks

Revision ID: bkevent01
Revises: tablet01
Create Date: 2026-12-02 01:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'bkevent01'
down_revision: str | None = 'tablet01'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "booking_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(),
                  sa.ForeignKey("booking.id", name="fk_booking_event_booking_id_booking"),
                  nullable=False),
        sa.Column("site_id", sa.Integer(),
                  sa.ForeignKey("site.id", name="fk_booking_event_site_id_site"), nullable=False),
        sa.Column("service_id", sa.Integer(),
                  sa.ForeignKey("service.id", name="fk_booking_event_service_id_service"),
                  nullable=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_booking_event"),
    )
    op.create_index("ix_booking_event_booking_id", "booking_event", ["booking_id"])


def downgrade() -> None:
    op.drop_index("ix_booking_event_booking_id", table_name="booking_event")
    op.drop_table("booking_event")
