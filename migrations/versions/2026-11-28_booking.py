"""online booking: day share counter, rate-limit counters, booking lookup indexes

Revision ID: booking
Revises: 0001
Create Date: 2026-11-28 08:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "booking"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("service_day") as batch:
        batch.add_column(sa.Column("booked", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "rate_limit_hit",
        sa.Column("bucket", sa.String(length=160), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", "window_start", name=op.f("pk_rate_limit_hit")),
    )
    op.create_index("ix_booking_status_slot_end", "booking", ["status", "slot_end"])
    op.create_index("ix_booking_phone", "booking", ["phone"])


def downgrade() -> None:
    op.drop_index("ix_booking_phone", table_name="booking")
    op.drop_index("ix_booking_status_slot_end", table_name="booking")
    op.drop_table("rate_limit_hit")
    with op.batch_alter_table("service_day") as batch:
        batch.drop_column("booked")
