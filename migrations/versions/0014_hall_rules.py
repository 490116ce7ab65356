"""Task-local data (task_submission) and the clocks that follow the law: extension (延期, Art. 42), forwarding
to a higher authority (上报, Art. 43), the decision date for delivery (Art. 44), acceptance on receipt (Art. 32)

Revision ID: 0014_hall_rules
Revises: 0013_catalog_year
"""
import sqlalchemy as sa
from alembic import op

revision = '0014_hall_rules'
down_revision = '0013_catalog_year'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'task_submission',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.String(length=32), nullable=False),
        sa.Column('task_id', sa.String(length=36), nullable=False),
        sa.Column('element_id', sa.String(length=200), nullable=False),
        sa.Column('name', sa.String(length=300), nullable=False),
        sa.Column('post', sa.String(length=100), nullable=True),
        sa.Column('submitted_by', sa.String(length=64), nullable=True),
        sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('outputs', sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_task_submission_instance', 'task_submission', ['instance_id', 'id'], unique=False)
    op.create_index(op.f('ix_task_submission_task_id'), 'task_submission', ['task_id'], unique=False)
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        batch_op.add_column(sa.Column('extended_days', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('extended_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('extended_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('extension_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('forwarded_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('forward_clock', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('replied_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('accepted_on_receipt', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('process_instance', schema=None) as batch_op:
        for column in ('accepted_on_receipt', 'decided_at', 'replied_at', 'forward_clock', 'forwarded_at',
                       'extension_reason', 'extended_by', 'extended_at', 'extended_days'):
            batch_op.drop_column(column)
    op.drop_index(op.f('ix_task_submission_task_id'), table_name='task_submission')
    op.drop_index('ix_task_submission_instance', table_name='task_submission')
    op.drop_table('task_submission')
