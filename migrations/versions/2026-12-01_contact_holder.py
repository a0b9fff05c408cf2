"""ticket_contact: the address citizens' links start with, the holder (a phone or a browser,
hashed) for one open ticket per holder per service per day, the service's contacts of a day

Revision ID: contact02
Revises: compl01
Create Date: 2026-12-01 21:10:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'contact02'
down_revision: str | None = 'compl01'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('ticket_contact', schema=None) as batch_op:
        batch_op.add_column(sa.Column('base_url', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('holder', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_ticket_contact_holder', ['holder', 'service_id', 'day'])
        batch_op.create_index('ix_ticket_contact_service_day', ['service_id', 'day'])


def downgrade() -> None:
    with op.batch_alter_table('ticket_contact', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_contact_service_day')
        batch_op.drop_index('ix_ticket_contact_holder')
        batch_op.drop_column('holder')
        batch_op.drop_column('base_url')
