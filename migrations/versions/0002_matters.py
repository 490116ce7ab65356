"""matters: the catalog of the hall's matters

Revision ID: 0002_matters
Revises: 0001_core
"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = '0002_matters'
down_revision = '0001_core'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
