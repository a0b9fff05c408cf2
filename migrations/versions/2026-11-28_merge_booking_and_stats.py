"""merge booking and stats

Revision ID: merge01
Revises: booking, stats
Create Date: 2026-11-28 09:45:49.663513
"""
from collections.abc import Sequence

revision: str = 'merge01'
down_revision: str | None = ('booking', 'stats')
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
