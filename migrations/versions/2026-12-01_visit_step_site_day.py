"""visit_step: index (site_id, day) for the statistics of visits

Revision ID: visits02
Revises: webhook01
Create Date: 2026-12-01 21:05:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = 'visits02'
down_revision: str | None = 'webhook01'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_visit_step_site_day', 'visit_step', ['site_id', 'day'])


def downgrade() -> None:
    op.drop_index('ix_visit_step_site_day', table_name='visit_step')
