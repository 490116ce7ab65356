"""the window's day: indexes for 办件查询 (applicant, agent, phone; prefix search on PostgreSQL)

Revision ID: 0018_window
Revises: 0017_web_sessions
"""
import sqlalchemy as sa
from alembic import op

revision = '0018_window'
down_revision = '0017_web_sessions'
branch_labels = None
depends_on = None

_INTAKE = ('phone', 'agent_phone', 'agent_id_number', 'agent_name')
# PostgreSQL answers `LIKE 'abc%'` from an index only with the pattern operator class
_PREFIX = (('case_intake', 'applicant_name'), ('case_intake', 'agent_name'), ('case_intake', 'id_number'),
           ('process_instance', 'case_number'))


def upgrade():
    for column in _INTAKE:
        op.create_index(f'ix_case_intake_{column}', 'case_intake', [column], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        for table, column in _PREFIX:
            op.create_index(f'ix_{table}_{column}_prefix', table, [column], unique=False,
                            postgresql_ops={column: 'varchar_pattern_ops'})


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for table, column in _PREFIX:
            op.drop_index(f'ix_{table}_{column}_prefix', table_name=table)
    for column in _INTAKE:
        op.drop_index(f'ix_case_intake_{column}', table_name='case_intake')
