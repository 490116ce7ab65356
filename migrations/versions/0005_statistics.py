"""statistics: indexes for periods of received cases by window, department and matter

Revision ID: 0005_statistics
Revises: 0004_clock_supervision
Create Date: 2026-11-25 16:30:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0005_statistics'
down_revision = '0004_clock_supervision'
branch_labels = None
depends_on = None

INDEXES = {
    'ix_process_instance_received_window': ['received_on', 'window_no'],
    'ix_process_instance_received_department': ['received_on', 'department_code'],
    'ix_process_instance_received_matter': ['received_on', 'matter_code'],
    'ix_process_instance_matter_definition': ['matter_code', 'definition_id'],
}


def upgrade():
    for name, columns in INDEXES.items():
        op.create_index(name, 'process_instance', columns, unique=False)


def downgrade():
    for name in reversed(list(INDEXES)):
        op.drop_index(name, table_name='process_instance')
