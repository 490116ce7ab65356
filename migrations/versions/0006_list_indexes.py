"""indexes for list filters: cases by starter, warnings by supervisor post

Revision ID: 0006_list_indexes
Revises: 0005_statistics
"""
from alembic import op

revision = '0006_list_indexes'
down_revision = '0005_statistics'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_process_instance_started_by'), ['started_by'], unique=False)
    with op.batch_alter_table('supervision_warning', schema=None) as batch_op:
        batch_op.create_index('ix_supervision_warning_post_state', ['post', 'state', 'raised_at'], unique=False)


def downgrade():
    with op.batch_alter_table('supervision_warning', schema=None) as batch_op:
        batch_op.drop_index('ix_supervision_warning_post_state')
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_process_instance_started_by'))
