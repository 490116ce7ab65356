"""user_task.priority: a task's rank in its post's list (higher first), set by a plugin when the task opens (the
hall: 1 for a green-channel case) — the post's index of open tasks orders by it, so a list walks one index instead
of matching the post's open tasks against every prioritized step of the center

Revision ID: 0030_task_priority
Revises: 0029_case_party
"""
import sqlalchemy as sa
from alembic import op

revision = '0030_task_priority'
down_revision = '0029_case_party'
branch_labels = None
depends_on = None

OPEN = sa.text("state = 'open'")


def upgrade():
    # a plain ADD COLUMN (no table copy on SQLite, which would drop user_task's triggers; no rewrite on PostgreSQL)
    op.add_column('user_task', sa.Column('priority', sa.Integer(), nullable=False, server_default='0'))
    op.execute("UPDATE user_task SET priority = (SELECT h.priority FROM hall_task h WHERE h.task_id = user_task.id) "
               "WHERE id IN (SELECT task_id FROM hall_task WHERE priority <> 0)")
    op.drop_index('ix_user_task_open_post', table_name='user_task')
    op.create_index('ix_user_task_open_post', 'user_task',
                    ['post', sa.text('priority DESC'), 'due_at', 'created_at', 'id', 'assignee'],
                    sqlite_where=OPEN, postgresql_where=OPEN)
    op.create_index('ix_user_task_open_rank', 'user_task', [sa.text('priority DESC'), 'due_at', 'created_at', 'id'],
                    sqlite_where=OPEN, postgresql_where=OPEN)
    op.drop_index('ix_hall_task_open_priority', table_name='hall_task')


def downgrade():
    prioritized = sa.text('is_open AND priority > 0')
    op.create_index('ix_hall_task_open_priority', 'hall_task', ['task_id'], sqlite_where=prioritized,
                    postgresql_where=prioritized)
    op.drop_index('ix_user_task_open_rank', table_name='user_task')
    op.drop_index('ix_user_task_open_post', table_name='user_task')
    op.create_index('ix_user_task_open_post', 'user_task', ['post', 'due_at', 'created_at', 'id', 'assignee'],
                    sqlite_where=OPEN, postgresql_where=OPEN)
    op.drop_column('user_task', 'priority')
