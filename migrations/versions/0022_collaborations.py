"""collaborations: declared correlation keys of waiting messages; the conversation a message-started case joins

Revision ID: 0022_collaborations
Revises: 0021_step_incidents
"""
import sqlalchemy as sa
from alembic import op

revision = '0022_collaborations'
down_revision = '0021_step_incidents'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'subscription_correlation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.String(length=32), nullable=False),
        sa.Column('task_id', sa.String(length=36), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('value', sa.String(length=1000), nullable=False),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_subscription_correlation_key', 'subscription_correlation', ['key', 'value'])
    op.create_index('ix_subscription_correlation_instance_id', 'subscription_correlation', ['instance_id'])
    op.create_table(
        'case_conversation',
        sa.Column('instance_id', sa.String(length=32), nullable=False),
        sa.Column('conversation_id', sa.String(length=32), nullable=False),
        sa.Column('started_by', sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('instance_id'),
    )
    op.create_index('ix_case_conversation_conversation_id', 'case_conversation', ['conversation_id'])


def downgrade():
    op.drop_index('ix_case_conversation_conversation_id', table_name='case_conversation')
    op.drop_table('case_conversation')
    op.drop_index('ix_subscription_correlation_instance_id', table_name='subscription_correlation')
    op.drop_index('ix_subscription_correlation_key', table_name='subscription_correlation')
    op.drop_table('subscription_correlation')
