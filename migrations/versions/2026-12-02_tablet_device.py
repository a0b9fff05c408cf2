"""device.counter_id: a survey tablet is bound to one counter (issue 16 item 5)

Revision ID: tablet01
Revises: otp01
Create Date: 2026-12-02 01:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "tablet01"
down_revision: str | None = "otp01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("device") as batch:
        batch.add_column(sa.Column("counter_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_device_counter_id_counter", "counter",
                                 ["counter_id"], ["id"])


def downgrade() -> None:
    op.execute("DELETE FROM device WHERE kind = 'tablet'")
    with op.batch_alter_table("device") as batch:
        batch.drop_constraint("fk_device_counter_id_counter", type_="foreignkey")
        batch.drop_column("counter_id")
