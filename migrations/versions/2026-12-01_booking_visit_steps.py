"""booking: the later steps of a visit (several services), started at check-in

Revision ID: visits03
Revises: visits02
Create Date: 2026-12-01 21:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'visits03'
down_revision: str | None = 'visits02'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('booking') as batch:
        batch.add_column(sa.Column('next_service_ids', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('booking') as batch:
        batch.drop_column('next_service_ids')
