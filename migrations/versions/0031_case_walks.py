"""A department's cases and a clerk's own starts newest first, each from one index (department or starter, then
start time and id): case lists walk them without filtering the center's newer cases; they replace the plain
indexes on those columns

Revision ID: 0031_case_walks
Revises: 0030_task_priority
"""
import sqlalchemy as sa
from alembic import op

revision = '0031_case_walks'
down_revision = '0030_task_priority'
branch_labels = None
depends_on = None


def upgrade():
    for column in ("department_code", "started_by"):
        op.create_index(f'ix_process_instance_{column}_walk', 'process_instance',
                        [column, sa.text('started_at DESC'), 'id'])
        op.drop_index(f'ix_process_instance_{column}', table_name='process_instance')


def downgrade():
    for column in ("department_code", "started_by"):
        op.create_index(f'ix_process_instance_{column}', 'process_instance', [column])
        op.drop_index(f'ix_process_instance_{column}_walk', table_name='process_instance')
