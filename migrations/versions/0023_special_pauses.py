"""hall_case: a special procedure's pause (Art. 45) — its task, its bound with a second notice's extension

Revision ID: 0023_special_pauses
Revises: 0022_collaborations
"""
import sqlalchemy as sa
from alembic import op

revision = '0023_special_pauses'
down_revision = '0022_collaborations'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('hall_case') as batch:
        batch.add_column(sa.Column('pause_task_id', sa.String(length=36), nullable=True))
        batch.add_column(sa.Column('pause_limit', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('pause_extended_days', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('hall_case') as batch:
        batch.drop_column('pause_extended_days')
        batch.drop_column('pause_limit')
        batch.drop_column('pause_task_id')
