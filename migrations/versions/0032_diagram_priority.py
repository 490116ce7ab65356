"""A task's rank comes from its diagram: camunda:priority (an integer or an expression; Camunda's normal 50 where the
diagram sets none), which the hall lifts by 1000 for a green-channel case. hall_task.priority goes: the runtime's
user_task.priority is the one record of a task's rank.

Revision ID: 0032_diagram_priority
Revises: 0031_case_walks
"""
import sqlalchemy as sa
from alembic import op

revision = '0032_diagram_priority'
down_revision = '0031_case_walks'
branch_labels = None
depends_on = None

NORMAL, GREEN_LIFT = 50, 1000


def upgrade():
    # until now a rank was 0, or 1 for a green-channel case (no diagram could set one)
    op.execute(f"UPDATE user_task SET priority = CASE WHEN priority > 0 THEN {GREEN_LIFT + NORMAL} ELSE {NORMAL} END")
    if op.get_bind().dialect.name == 'postgresql':
        op.alter_column('user_task', 'priority', server_default=str(NORMAL))
    # SQLite changes a column's default only by copying the table, which would drop user_task's triggers; the
    # runtime writes every task's rank, so the default there stays 0 and is never used
    op.drop_column('hall_task', 'priority')


def downgrade():
    op.add_column('hall_task', sa.Column('priority', sa.Integer(), nullable=False, server_default='0'))
    op.execute(f"UPDATE hall_task SET priority = 1 WHERE task_id IN "
               f"(SELECT id FROM user_task WHERE priority >= {GREEN_LIFT})")
    if op.get_bind().dialect.name == 'postgresql':
        op.alter_column('user_task', 'priority', server_default='0')
    op.execute(f"UPDATE user_task SET priority = CASE WHEN priority >= {GREEN_LIFT} THEN 1 ELSE 0 END")
