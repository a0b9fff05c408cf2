"""visits with several services: visit_step, service_package, site visit settings

A visit's ticket moves from one service's queue to the next keeping its number, so the
ticket's unique key becomes (site_id, day, number): prefixes are unique per site, so for a
single-service ticket this is the old (service_id, day, seq) key.

Revision ID: visits01
Revises: integ01
Create Date: 2026-12-01 20:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'visits01'
down_revision: str | None = 'integ01'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'service_package',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=32), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('description', sa.String(length=500), nullable=True),
        sa.Column('service_ids', sa.JSON(), nullable=False),
        sa.Column('is_active', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['site_id'], ['site.id'],
                                name=op.f('fk_service_package_site_id_site')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_service_package')),
        sa.UniqueConstraint('site_id', 'code', name=op.f('uq_service_package_site_id_code')),
    )
    op.create_index(op.f('ix_service_package_site_id'), 'service_package', ['site_id'])
    op.create_table(
        'visit_step',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.Column('service_id', sa.Integer(), nullable=False),
        sa.Column('agency_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('quota_taken', sa.Boolean(), nullable=False),
        sa.Column('package_id', sa.Integer(), nullable=True),
        sa.Column('added_by', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('queued_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('called_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'],
                                name=op.f('fk_visit_step_ticket_id_ticket')),
        sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_visit_step_site_id_site')),
        sa.ForeignKeyConstraint(['service_id'], ['service.id'],
                                name=op.f('fk_visit_step_service_id_service')),
        sa.ForeignKeyConstraint(['agency_id'], ['agency.id'],
                                name=op.f('fk_visit_step_agency_id_agency')),
        sa.ForeignKeyConstraint(['package_id'], ['service_package.id'],
                                name=op.f('fk_visit_step_package_id_service_package')),
        sa.ForeignKeyConstraint(['added_by'], ['user_account.id'],
                                name=op.f('fk_visit_step_added_by_user_account')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_visit_step')),
    )
    op.create_index('ix_visit_step_ticket', 'visit_step', ['ticket_id', 'position'])
    op.create_index('ix_visit_step_service_day', 'visit_step', ['service_id', 'day'])
    with op.batch_alter_table('site') as batch:
        batch.add_column(sa.Column('visit_requeue', sa.String(length=16), nullable=False,
                                   server_default='original'))
        batch.add_column(sa.Column('visit_no_show_cancels', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    with op.batch_alter_table('ticket') as batch:
        batch.add_column(sa.Column('has_steps', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column('queued_at', sa.DateTime(timezone=True), nullable=True))
        batch.drop_constraint('uq_ticket_service_id_day_seq', type_='unique')
        batch.create_unique_constraint(op.f('uq_ticket_site_id_day_number'),
                                       ['site_id', 'day', 'number'])


def downgrade() -> None:
    with op.batch_alter_table('ticket') as batch:
        batch.drop_constraint('uq_ticket_site_id_day_number', type_='unique')
        batch.create_unique_constraint('uq_ticket_service_id_day_seq',
                                       ['service_id', 'day', 'seq'])
        batch.drop_column('queued_at')
        batch.drop_column('has_steps')
    with op.batch_alter_table('site') as batch:
        batch.drop_column('visit_no_show_cancels')
        batch.drop_column('visit_requeue')
    op.drop_index('ix_visit_step_service_day', table_name='visit_step')
    op.drop_index('ix_visit_step_ticket', table_name='visit_step')
    op.drop_table('visit_step')
    op.drop_index(op.f('ix_service_package_site_id'), table_name='service_package')
    op.drop_table('service_package')
