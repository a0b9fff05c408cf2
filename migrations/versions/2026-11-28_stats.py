"""statistics: ticket_event (agency_id, day) and survey_response (agency_id, day) indexes

A manager's reports are scoped to their agency; without these, a month of one agency's figures
would scan every agency's events of the site for that month.

Revision ID: stats
Revises: 0001
Create Date: 2026-11-28 08:50:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = "stats"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_ticket_event_agency_day", "ticket_event", ["agency_id", "day"])
    op.create_index("ix_survey_agency_day", "survey_response", ["agency_id", "day"])


def downgrade() -> None:
    op.drop_index("ix_survey_agency_day", table_name="survey_response")
    op.drop_index("ix_ticket_event_agency_day", table_name="ticket_event")
