"""step_incident: a step that could not be taken (its case could not be saved, or its decision is not deployed)

Revision ID: 0021_step_incidents
Revises: 0020_external_tasks
"""
import sqlalchemy as sa
from alembic import op


revision = '0021_step_incidents'
down_revision = '0020_external_tasks'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'step_incident',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.String(length=32), nullable=True),
        sa.Column('process_key', sa.String(length=200), nullable=True),
        sa.Column('case_version', sa.Integer(), nullable=True),
        sa.Column('element_id', sa.String(length=200), nullable=True),
        sa.Column('code', sa.String(length=40), nullable=False),
        sa.Column('action', sa.String(length=60), nullable=False),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('details', sa.JSON(), nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('first_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('resolved_by', sa.String(length=64), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_step_incident_state_instance', 'step_incident', ['state', 'instance_id'])


def downgrade():
    op.drop_index('ix_step_incident_state_instance', table_name='step_incident')
    op.drop_table('step_incident')
