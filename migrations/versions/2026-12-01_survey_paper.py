"""survey_response.ticket_id nullable: paper questionnaires a manager enters have no ticket

Revision ID: compl02
Revises: visits03
Create Date: 2026-12-01 22:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "compl02"
down_revision: str | None = "visits03"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("survey_response") as batch:
        batch.alter_column("ticket_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM survey_response WHERE ticket_id IS NULL")
    with op.batch_alter_table("survey_response") as batch:
        batch.alter_column("ticket_id", existing_type=sa.Integer(), nullable=False)
