"""ticket: partial indexes on the waiting tickets of a day, in calling order

call-next takes the head of a counter's queue (`ORDER BY sort_at, id LIMIT 1 ... SKIP LOCKED`
over the counter's services); with (service_id, status, sort_at) it sorted every waiting ticket
of those services on every call. Priority and regular tickets have an index each, because
call-next asks for the head of both.

Revision ID: qhead01
Revises: evtype01
Create Date: 2026-11-28 14:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'qhead01'
down_revision: str | None = 'evtype01'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REGULAR = "status = 'waiting' AND priority IS NULL"
PRIORITY = "status = 'waiting' AND priority IS NOT NULL"


def upgrade() -> None:
    for name, where in (("ix_ticket_head_regular", REGULAR), ("ix_ticket_head_priority", PRIORITY)):
        op.create_index(name, "ticket", ["day", "sort_at", "id"],
                        postgresql_where=sa.text(where), sqlite_where=sa.text(where))


def downgrade() -> None:
    op.drop_index("ix_ticket_head_priority", table_name="ticket")
    op.drop_index("ix_ticket_head_regular", table_name="ticket")
