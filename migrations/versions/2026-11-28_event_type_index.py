"""ticket_event: index (service_id, day, type, id)

The waiting estimate reads a service's last 20 finished services of the day on every issue;
with (service_id, day) alone that scanned every event of the day (all the issues too).

Revision ID: evtype01
Revises: merge01
Create Date: 2026-11-28 13:40:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = 'evtype01'
down_revision: str | None = 'merge01'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('ticket_event', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_event_service_day')
        batch_op.create_index('ix_ticket_event_service_day_type',
                              ['service_id', 'day', 'type', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ticket_event', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_event_service_day_type')
        batch_op.create_index('ix_ticket_event_service_day', ['service_id', 'day'], unique=False)
