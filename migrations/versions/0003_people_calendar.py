"""people and calendar: absences, reassignments, owners, calendar days

Revision ID: 0003_people_calendar
Revises: 0002_matters
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = '0003_people_calendar'
down_revision = '0002_matters'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
