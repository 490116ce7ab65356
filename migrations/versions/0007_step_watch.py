"""user_task.watch_from: the supervision sweep skips green steps that cannot turn yellow yet

Revision ID: 0007_step_watch
Revises: 0006_list_indexes
"""
import sqlalchemy as sa
from alembic import op

revision = '0007_step_watch'
down_revision = '0006_list_indexes'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('watch_from', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_user_task_state_watch', ['state', 'watch_from'], unique=False)


def downgrade():
    with op.batch_alter_table('user_task', schema=None) as batch_op:
        batch_op.drop_index('ix_user_task_state_watch')
        batch_op.drop_column('watch_from')
