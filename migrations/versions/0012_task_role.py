"""user_task.role: what a plugin says a step is (the hall's hall.step), for supervision's indexed sweeps

Revision ID: 0012_task_role
Revises: 0011_web
"""
import sqlalchemy as sa
from alembic import op

revision = '0012_task_role'
down_revision = '0011_web'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_task', schema=None) as batch_op:
        batch_op.add_column(sa.Column('role', sa.String(length=40), nullable=True))
        batch_op.create_index('ix_user_task_state_role', ['state', 'role'], unique=False)
    # steps opened before roles were recorded: the hall's diagrams used the role as the element id
    op.execute("UPDATE user_task SET role = element_id WHERE element_id IN "
               "('accept', 'supplement_notice', 'supplement_check', 'not_accepted', 'review', 'first_review', "
               "'decide', 'forward', 'inform', 'deliver')")


def downgrade():
    with op.batch_alter_table('user_task', schema=None) as batch_op:
        batch_op.drop_index('ix_user_task_state_role')
        batch_op.drop_column('role')
