"""Reads that do not grow with history: open flags on task candidates and on the hall's steps, so that task
lists and the supervision sweep read today's work through partial indexes; open tasks by post in due order (task lists, GET
/posts), green-channel steps, and open warnings

Revision ID: 0025_scale_reads
Revises: 0024_matter_versions
"""
import sqlalchemy as sa
from alembic import op

revision = '0025_scale_reads'
down_revision = '0024_matter_versions'
branch_labels = None
depends_on = None

FINISHED = "(SELECT id FROM user_task WHERE state <> 'open')"


def upgrade():
    for table in ('task_candidate', 'hall_task'):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('is_open', sa.Boolean(), server_default=sa.true(), nullable=False))
    # finished tasks' rows stay (their record), out of the partial indexes
    op.execute(f"UPDATE task_candidate SET is_open = false WHERE task_id IN {FINISHED}")
    op.execute(f"UPDATE hall_task SET is_open = false WHERE task_id IN {FINISHED}")
    is_open = sa.text('is_open')
    op.create_index('ix_task_candidate_open_post', 'task_candidate', ['post', 'task_id'],
                    sqlite_where=is_open, postgresql_where=is_open)
    op.create_index('ix_hall_task_open_watch', 'hall_task', ['light', 'watch_from'],
                    sqlite_where=is_open, postgresql_where=is_open)
    op.create_index('ix_hall_task_open_role', 'hall_task', ['role'], sqlite_where=is_open, postgresql_where=is_open)
    open_state = sa.text("state = 'open'")
    op.create_index('ix_user_task_open_post', 'user_task', ['post', 'due_at', 'created_at', 'id', 'assignee'],
                    sqlite_where=open_state, postgresql_where=open_state)
    prioritized = sa.text('is_open AND priority > 0')
    op.create_index('ix_hall_task_open_priority', 'hall_task', ['task_id'], sqlite_where=prioritized,
                    postgresql_where=prioritized)
    open_warning = open_state
    op.create_index('ix_supervision_warning_open', 'supervision_warning', ['id'],
                    sqlite_where=open_warning, postgresql_where=open_warning)
    op.create_index('ix_supervision_warning_open_raised', 'supervision_warning', ['raised_at', 'id'],
                    sqlite_where=open_warning, postgresql_where=open_warning)
    op.create_index('ix_supervision_warning_open_task', 'supervision_warning', ['task_id', 'kind'],
                    sqlite_where=open_warning, postgresql_where=open_warning)


def downgrade():
    op.drop_index('ix_supervision_warning_open_task', table_name='supervision_warning')
    op.drop_index('ix_supervision_warning_open_raised', table_name='supervision_warning')
    op.drop_index('ix_supervision_warning_open', table_name='supervision_warning')
    op.drop_index('ix_hall_task_open_priority', table_name='hall_task')
    op.drop_index('ix_user_task_open_post', table_name='user_task')
    op.drop_index('ix_hall_task_open_role', table_name='hall_task')
    op.drop_index('ix_hall_task_open_watch', table_name='hall_task')
    op.drop_index('ix_task_candidate_open_post', table_name='task_candidate')
    for table in ('hall_task', 'task_candidate'):
        with op.batch_alter_table(table) as batch:
            batch.drop_column('is_open')
