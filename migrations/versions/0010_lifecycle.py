"""lifecycle: definition states (suspended, withdrawn), changelog; seed_file remembers what bootstrap deployed

Revision ID: 0010_lifecycle
Revises: 0009_access_tokens
"""
import sqlalchemy as sa
from alembic import op

revision = '0010_lifecycle'
down_revision = '0009_access_tokens'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('process_definition', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state', sa.String(length=20), nullable=False, server_default='active'))
        batch_op.add_column(sa.Column('state_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('state_changed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('state_changed_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('changelog', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('source', sa.String(length=20), nullable=True))
        batch_op.create_index('ix_process_definition_key_state', ['key', 'state', 'version'], unique=False)
    op.create_table(
        'seed_file',
        sa.Column('path', sa.String(length=500), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('checksum', sa.String(length=64), nullable=False),
        sa.Column('deployed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('refs', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('path', name=op.f('pk_seed_file')),
    )
    op.create_table(
        'definition_event',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('version', sa.Integer(), nullable=True),
        sa.Column('action', sa.String(length=30), nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=True),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('details', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_definition_event')),
    )
    op.create_index('ix_definition_event_key', 'definition_event', ['key', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_definition_event_key', table_name='definition_event')
    op.drop_table('definition_event')
    op.drop_table('seed_file')
    with op.batch_alter_table('process_definition', schema=None) as batch_op:
        batch_op.drop_index('ix_process_definition_key_state')
        for column in ('source', 'changelog', 'state_changed_by', 'state_changed_at', 'state_reason', 'state'):
            batch_op.drop_column(column)
