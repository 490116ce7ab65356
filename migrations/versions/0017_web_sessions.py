"""web sessions end at sign-out: web_password.session_epoch (a session remembers it; signing out bumps it)

Revision ID: 0017_web_sessions
Revises: 0016_task_candidates
"""
import sqlalchemy as sa
from alembic import op

revision = '0017_web_sessions'
down_revision = '0016_task_candidates'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('web_password', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_epoch', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('web_password', schema=None) as batch_op:
        batch_op.drop_column('session_epoch')
