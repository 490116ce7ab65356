"""external tasks: service tasks waiting for a worker (Camunda's external task API under /engine-rest)

Revision ID: 0020_external_tasks
Revises: 0019_window
"""
import sqlalchemy as sa
from alembic import op

revision = '0020_external_tasks'
down_revision = '0019_window'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'external_task',
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('instance_id', sa.String(32), sa.ForeignKey('process_instance.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('definition_id', sa.Integer(), nullable=False),
        sa.Column('process_key', sa.String(200), nullable=False),
        sa.Column('business_key', sa.String(200)),
        sa.Column('element_id', sa.String(200), nullable=False),
        sa.Column('name', sa.String(300), nullable=False),
        sa.Column('topic', sa.String(300), nullable=False),
        sa.Column('priority', sa.BigInteger(), nullable=False),
        sa.Column('state', sa.String(20), nullable=False),
        sa.Column('worker_id', sa.String(255)),
        sa.Column('lock_expiration', sa.DateTime(timezone=True)),
        sa.Column('retries', sa.Integer()),
        sa.Column('error_message', sa.Text()),
        sa.Column('error_details', sa.Text()),
        sa.Column('local_variables', sa.JSON()),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True)),
    )
    op.create_index('ix_external_task_fetch', 'external_task', ['state', 'topic', 'lock_expiration'])
    op.create_index('ix_external_task_instance_state', 'external_task', ['instance_id', 'state'])
    op.create_index('ix_external_task_worker', 'external_task', ['worker_id'])


def downgrade():
    op.drop_table('external_task')
