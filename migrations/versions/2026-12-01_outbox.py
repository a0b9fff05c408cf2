"""outbox (messages and webhooks), ticket_contact, booking consent version and language

Revision ID: outbox01
Revises: qhead01
Create Date: 2026-12-01 20:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'outbox01'
down_revision: str | None = 'qhead01'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DUE = "status IN ('pending', 'sending')"


def upgrade() -> None:
    op.create_table(
        'outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('topic', sa.String(length=40), nullable=False),
        sa.Column('key', sa.String(length=160), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=True),
        sa.Column('ticket_id', sa.Integer(), nullable=True),
        sa.Column('booking_id', sa.Integer(), nullable=True),
        sa.Column('target', sa.String(length=200), nullable=True),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('lease_token', sa.String(length=32), nullable=True),
        sa.Column('last_error', sa.String(length=500), nullable=True),
        sa.Column('provider_ref', sa.String(length=200), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['site_id'], ['site.id'], name='fk_outbox_site_id_site'),
        sa.PrimaryKeyConstraint('id', name='pk_outbox'),
        sa.UniqueConstraint('key', name='uq_outbox_key'),
    )
    op.create_index('ix_outbox_due', 'outbox', ['next_attempt_at'],
                    postgresql_where=sa.text(_DUE), sqlite_where=sa.text(_DUE))
    op.create_index('ix_outbox_provider_ref', 'outbox', ['provider_ref'])
    op.create_index('ix_outbox_ticket', 'outbox', ['ticket_id'])
    op.create_table(
        'ticket_contact',
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('service_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('phone', sa.String(length=20), nullable=True),
        sa.Column('lang', sa.String(length=2), nullable=False),
        sa.Column('consent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('consent_version', sa.String(length=16), nullable=True),
        sa.Column('verified', sa.Boolean(), nullable=False),
        sa.Column('ahead_sent', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'],
                                name='fk_ticket_contact_ticket_id_ticket'),
        sa.ForeignKeyConstraint(['service_id'], ['service.id'],
                                name='fk_ticket_contact_service_id_service'),
        sa.PrimaryKeyConstraint('ticket_id', name='pk_ticket_contact'),
    )
    op.create_index('ix_ticket_contact_phone_day', 'ticket_contact', ['phone', 'day'])
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent_version', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('lang', sa.String(length=2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_column('lang')
        batch_op.drop_column('consent_version')
    op.drop_index('ix_ticket_contact_phone_day', table_name='ticket_contact')
    op.drop_table('ticket_contact')
    op.drop_index('ix_outbox_ticket', table_name='outbox')
    op.drop_index('ix_outbox_provider_ref', table_name='outbox')
    op.drop_index('ix_outbox_due', table_name='outbox')
    op.drop_table('outbox')
