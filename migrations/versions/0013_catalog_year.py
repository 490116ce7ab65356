"""catalog year: a matter's effective and cancel dates (effective_from, cancelled_on)

Revision ID: 0013_catalog_year
Revises: 0012_task_role
"""
import sqlalchemy as sa
from alembic import op

revision = '0013_catalog_year'
down_revision = '0012_task_role'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('matter', schema=None) as batch_op:
        batch_op.add_column(sa.Column('effective_from', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('cancelled_on', sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table('matter', schema=None) as batch_op:
        batch_op.drop_column('cancelled_on')
        batch_op.drop_column('effective_from')
