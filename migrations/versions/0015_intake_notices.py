"""intake and notices: case numbers, applicants and query codes, one open case per business key, documents

Revision ID: 0015_intake_notices
Revises: 0014_hall_rules
"""
import sqlalchemy as sa
from alembic import op

revision = '0015_intake_notices'
down_revision = '0014_hall_rules'
branch_labels = None
depends_on = None

OPEN = "business_key IS NOT NULL AND matter_code IS NOT NULL AND state IN ('running', 'suspended', 'error')"


def upgrade():
    op.create_table(
        'serial_counter',
        sa.Column('scope', sa.String(length=120), nullable=False),
        sa.Column('value', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('scope', name=op.f('pk_serial_counter')),
    )
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.add_column(sa.Column('case_number', sa.String(length=40), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_process_instance_case_number'), ['case_number'])
    op.create_index('uq_process_instance_open_business_key', 'process_instance', ['matter_code', 'business_key'],
                    unique=True, sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))
    op.create_table(
        'case_intake',
        sa.Column('instance_id', sa.String(length=32), nullable=False),
        sa.Column('applicant_kind', sa.String(length=20), nullable=True),
        sa.Column('applicant_name', sa.String(length=200), nullable=True),
        sa.Column('id_type', sa.String(length=30), nullable=True),
        sa.Column('id_number', sa.String(length=64), nullable=True),
        sa.Column('phone', sa.String(length=30), nullable=True),
        sa.Column('address', sa.String(length=300), nullable=True),
        sa.Column('legal_representative', sa.String(length=100), nullable=True),
        sa.Column('agent_name', sa.String(length=100), nullable=True),
        sa.Column('agent_id_type', sa.String(length=30), nullable=True),
        sa.Column('agent_id_number', sa.String(length=64), nullable=True),
        sa.Column('agent_phone', sa.String(length=30), nullable=True),
        sa.Column('query_code_digest', sa.String(length=64), nullable=True),
        sa.Column('query_code_set_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('received_materials', sa.JSON(), nullable=False),
        sa.Column('missing_materials', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'],
                                name=op.f('fk_case_intake_instance_id_process_instance')),
        sa.PrimaryKeyConstraint('instance_id', name=op.f('pk_case_intake')),
        sa.UniqueConstraint('query_code_digest', name=op.f('uq_case_intake_query_code_digest')),
    )
    op.create_index(op.f('ix_case_intake_applicant_name'), 'case_intake', ['applicant_name'], unique=False)
    op.create_index(op.f('ix_case_intake_id_number'), 'case_intake', ['id_number'], unique=False)
    op.create_table(
        'document',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.String(length=32), nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('title', sa.String(length=100), nullable=False),
        sa.Column('number', sa.String(length=80), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('serial', sa.Integer(), nullable=False),
        sa.Column('department_code', sa.String(length=32), nullable=True),
        sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('issued_by', sa.String(length=64), nullable=True),
        sa.Column('element_id', sa.String(length=200), nullable=True),
        sa.Column('task_id', sa.String(length=64), nullable=True),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'],
                                name=op.f('fk_document_instance_id_process_instance')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_document')),
        sa.UniqueConstraint('number', name=op.f('uq_document_number')),
    )
    op.create_index('ix_document_instance', 'document', ['instance_id', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_document_instance', table_name='document')
    op.drop_table('document')
    op.drop_index(op.f('ix_case_intake_id_number'), table_name='case_intake')
    op.drop_index(op.f('ix_case_intake_applicant_name'), table_name='case_intake')
    op.drop_table('case_intake')
    op.drop_index('uq_process_instance_open_business_key', table_name='process_instance')
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_process_instance_case_number'), type_='unique')
        batch_op.drop_column('case_number')
    op.drop_table('serial_counter')
