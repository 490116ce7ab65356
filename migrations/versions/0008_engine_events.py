"""Events between cases: message subscriptions know messages from signals; message and signal start events

Revision ID: 0008_engine_events
Revises: 0007_step_watch
"""
import sqlalchemy as sa
from alembic import op

revision = '0008_engine_events'
down_revision = '0007_step_watch'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('message_subscription', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=10), nullable=False, server_default='message'))
        batch_op.create_index('ix_message_subscription_kind_name', ['kind', 'name'], unique=False)
    op.create_table(
        'event_start',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('definition_id', sa.Integer(), sa.ForeignKey('process_definition.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('process_key', sa.String(length=200), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
    )
    op.create_index('ix_event_start_kind_name', 'event_start', ['kind', 'name'], unique=False)
    op.create_index('ix_event_start_definition', 'event_start', ['definition_id'], unique=False)


def downgrade():
    op.drop_index('ix_event_start_definition', table_name='event_start')
    op.drop_index('ix_event_start_kind_name', table_name='event_start')
    op.drop_table('event_start')
    with op.batch_alter_table('message_subscription', schema=None) as batch_op:
        batch_op.drop_index('ix_message_subscription_kind_name')
        batch_op.drop_column('kind')
