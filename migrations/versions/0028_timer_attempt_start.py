"""timer.attempt_started_at: when a timer's running attempt began, so that another server process takes an
unfinished attempt for a dead process's only once it is older than the attempts' bound (not while it runs)

Revision ID: 0028_timer_attempt_start
Revises: 0027_post_tally
"""
import sqlalchemy as sa
from alembic import op

revision = '0028_timer_attempt_start'
down_revision = '0027_post_tally'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('timer') as batch:
        batch.add_column(sa.Column('attempt_started_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('timer') as batch:
        batch.drop_column('attempt_started_at')
