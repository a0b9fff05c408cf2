"""issue 18: per-service 'sakit' priority, holiday kinds, SKM answer source, counter breaks

- service.priority_sick: the service offers priority to the sick (UU 22/2009 Pasal 242: SIM,
  Samsat); other services do not.
- special_day.kind: 'libur_nasional' / 'cuti_bersama' rows pre-filled from the holidays
  package; NULL for a day an admin typed.
- survey_response.source: 'online' (citizen's link), 'tablet' (counter tablet), 'paper'
  (a manager entering paper questionnaires), so a report names every channel.
- counter.break_reason / break_since and counter_break: a counter on break ("istirahat").

Revision ID: compl01
Revises: visits01
Create Date: 2026-12-01 20:50:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "compl01"
down_revision: str | None = "visits01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("service") as batch:
        batch.add_column(sa.Column("priority_sick", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    with op.batch_alter_table("special_day") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=True))
    with op.batch_alter_table("survey_response") as batch:
        batch.add_column(sa.Column("source", sa.String(16), nullable=False,
                                   server_default="online"))
    with op.batch_alter_table("counter") as batch:
        batch.add_column(sa.Column("break_reason", sa.String(200), nullable=True))
        batch.add_column(sa.Column("break_since", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "counter_break",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("counter_id", sa.Integer(), sa.ForeignKey("counter.id"), nullable=False),
        sa.Column("site_id", sa.Integer(), sa.ForeignKey("site.id"), nullable=False),
        sa.Column("agency_id", sa.Integer(), sa.ForeignKey("agency.id"), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user_account.id"), nullable=True),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_counter_break_site_start", "counter_break", ["site_id", "started_at"])


def downgrade() -> None:
    op.drop_index("ix_counter_break_site_start", table_name="counter_break")
    op.drop_table("counter_break")
    with op.batch_alter_table("counter") as batch:
        batch.drop_column("break_since")
        batch.drop_column("break_reason")
    with op.batch_alter_table("survey_response") as batch:
        batch.drop_column("source")
    with op.batch_alter_table("special_day") as batch:
        batch.drop_column("kind")
    with op.batch_alter_table("service") as batch:
        batch.drop_column("priority_sick")
