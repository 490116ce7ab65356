"""matters: the catalog of the hall's matters

Revision ID: 0002_matters
Revises: 0001_core
"""
import sqlalchemy as sa
from alembic import op

revision = '0002_matters'
down_revision = '0001_core'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('matter',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('department_code', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('co_departments', sa.JSON(), nullable=False),
    sa.Column('higher_authority', sa.String(length=200), nullable=True),
    sa.Column('statutory_days', sa.Integer(), nullable=False),
    sa.Column('promised_days', sa.Integer(), nullable=False),
    sa.Column('acceptance_conditions', sa.Text(), nullable=False),
    sa.Column('materials', sa.JSON(), nullable=False),
    sa.Column('fee_charged', sa.Boolean(), nullable=False),
    sa.Column('fee_basis', sa.Text(), nullable=False),
    sa.Column('fee_standard', sa.Text(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('legal_basis', sa.JSON(), nullable=False),
    sa.Column('procedure', sa.JSON(), nullable=False),
    sa.Column('special_procedures', sa.JSON(), nullable=False),
    sa.Column('place', sa.String(length=300), nullable=True),
    sa.Column('hours', sa.String(length=300), nullable=True),
    sa.Column('visits', sa.Integer(), nullable=True),
    sa.Column('consultation', sa.String(length=500), nullable=True),
    sa.Column('complaint', sa.String(length=500), nullable=True),
    sa.Column('online', sa.Boolean(), nullable=False),
    sa.Column('green_channel', sa.Boolean(), nullable=False),
    sa.Column('process_key', sa.String(length=200), nullable=False),
    sa.Column('record', sa.JSON(), nullable=False),
    sa.Column('filename', sa.String(length=300), nullable=False),
    sa.Column('checksum', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_matter'))
    )
    with op.batch_alter_table('matter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_matter_department_code'), ['department_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_matter_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_matter_process_key'), ['process_key'], unique=False)


def downgrade():
    with op.batch_alter_table('matter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_matter_process_key'))
        batch_op.drop_index(batch_op.f('ix_matter_kind'))
        batch_op.drop_index(batch_op.f('ix_matter_department_code'))

    op.drop_table('matter')
