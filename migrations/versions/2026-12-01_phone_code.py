"""phone_code (one-time codes), service.requires_phone_otp

Revision ID: otp01
Revises: compl02
Create Date: 2026-12-01 21:50:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'otp01'
down_revision: str | None = 'compl02'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'phone_code',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('holder', sa.String(length=64), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name='pk_phone_code'),
    )
    op.create_index('ix_phone_code_holder', 'phone_code', ['holder', 'created_at'])
    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.add_column(sa.Column('requires_phone_otp', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.drop_column('requires_phone_otp')
    op.drop_index('ix_phone_code_holder', table_name='phone_code')
    op.drop_table('phone_code')
